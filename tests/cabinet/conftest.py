"""The cabinet's tests: the app on the test database, one subscriber's world (a tariff
with a base service, a daily add-on and a self-service tariff to move to; an account
with a cabinet password and a phone), and a test client that logs in at /my/login and
posts forms with the cabinet page's CSRF token."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from admin.app import create_app
from core.models import Account, Contract, Service, Tariff
from core.services import cabinet

PASSWORD = "subscriber pass 7"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class CabinetClient:
    def __init__(self, app):
        self.http = app.test_client()

    def token(self, url: str = "/my/") -> str:
        match = _CSRF.search(self.http.get(url).get_data(as_text=True))
        assert match, f"no CSRF token on {url}"
        return match[1]

    def login(self, login: str, password: str = PASSWORD):
        return self.http.post("/my/login", data={"login": login, "password": password,
                                                 "csrf_token": self.token("/my/login")})

    def post(self, url: str, data: dict[str, Any] | None = None, csrf: bool = True):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.token()
        return self.http.post(url, data=data, follow_redirects=True)

    def page(self, url: str = "/my/") -> str:
        response = self.http.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)


@dataclass
class World:
    account: Account
    contract: Contract
    addon: Service
    other: Tariff  # self-service
    closed: Tariff  # not self-service


@pytest.fixture
def app(runtime):
    return create_app(runtime)


@pytest.fixture
def world(factory, runtime) -> World:
    addon = factory.service("Cinema", price="10.00", method="daily")
    tariff = factory.tariff("Home 100", extra=[addon])
    other = factory.tariff("Home 200", self_service=True)
    closed = factory.tariff("Business")
    contract = factory.contract(subscriber=factory.subscriber(phones=["+7 916 555-00-11"]))
    account = factory.account(contract=contract, tariff=tariff, login="ivan")
    with runtime.session(actor="test") as s:
        cabinet.set_password(s, account.id, PASSWORD)
    return World(account, contract, addon, other, closed)


@pytest.fixture
def new_client(app):
    """new_client() → a CabinetClient not logged in."""
    return lambda: CabinetClient(app)


@pytest.fixture
def client(app, world) -> CabinetClient:
    """A client logged in as the world's subscriber."""
    made = CabinetClient(app)
    assert made.login("ivan").status_code == 302
    return made
