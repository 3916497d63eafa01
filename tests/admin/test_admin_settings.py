"""Settings, managers and roles: rows the admin writes itself, each change in the audit
log with its old and new values (secrets masked), bad values refused at their input."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import AgentType, Field
from core.models import Agent, AuditEntry, Manager, Operator, Role, Service, Tariff


class TvPlugin:
    def abonent_agent_types(self):
        return [AgentType(code="tv", title="TV platform",
                          settings=(Field("url", "url", required=True),
                                    Field("token", secret=True, required=True)))]


@pytest.fixture
def abonent_plugins():
    return [("tv", TvPlugin())]


def _saved(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return response.headers["Location"]


def _refused(response, field: str, reason: str) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    at = page.index(f'name="{field}"')
    assert reason in page[at:at + 1500], (field, reason)


def _audit(runtime, object_type: str) -> list[tuple[str, str, dict]]:
    with runtime.session() as s:
        return [tuple(r) for r in s.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.changes)
            .where(AuditEntry.object_type == object_type).order_by(AuditEntry.id))]


def test_operator_settings(client, runtime, factory):
    operator = factory.operator()
    url = f"/admin/operator/edit/?id={operator.id}"
    good = {"name": "Demo ISP", "currency": "rub", "vat_rate": "20", "prices_include_vat": "y",
            "timezone": "Europe/Moscow", "grace_days": "3", "grace_amount": "50",
            "contract_plan_id": operator.contract_plan_id, "invoice_plan_id": ""}
    _refused(client.post(url, {**good, "vat_rate": "abc"}), "vat_rate", "is not a decimal number")
    _refused(client.post(url, {**good, "vat_rate": "120"}), "vat_rate", "must be at most 100")
    _refused(client.post(url, {**good, "timezone": "Mars/Olympus"}), "timezone",
             "is not a known time zone")
    _refused(client.post(url, {**good, "currency": "roubles"}), "currency", "three-letter code")
    _saved(client.post(url, good))
    with runtime.session() as s:
        saved = s.get(Operator, operator.id)
        assert (saved.name, saved.currency, saved.timezone, saved.grace_days) == (
            "Demo ISP", "RUB", "Europe/Moscow", 3)
        assert saved.invoice_plan_id is None
    [(actor, action, changes)] = _audit(runtime, "operator")
    assert actor == "manager:admin" and action == "update"
    assert changes["name"] == {"old": "Test ISP", "new": "Demo ISP"}
    assert changes["timezone"] == {"old": "UTC", "new": "Europe/Moscow"}
    assert "vat_rate" not in changes  # 20 stays 20


def test_agent_settings_come_from_its_type_and_secrets_stay_hidden(client, runtime):
    form = client.text("/admin/agent/new/?type=tv")
    assert 'name="settings__url"' in form and 'name="settings__token"' in form
    data = {"name": "24h TV", "type": "tv", "enabled": "y", "settings__url": "ftp://x",
            "settings__token": "t0ken"}
    _refused(client.post("/admin/agent/new/", data), "settings__url", "must be an http(s) URL")
    _refused(client.post("/admin/agent/new/", {**data, "settings__url": "https://tv.example",
                                               "settings__token": ""}),
             "settings__token", "is required")
    _saved(client.post("/admin/agent/new/", {**data, "settings__url": "https://tv.example/"}))
    with runtime.session() as s:
        agent = s.scalars(select(Agent).where(Agent.name == "24h TV")).one()
        assert agent.settings == {"url": "https://tv.example", "token": "t0ken"}
    edit = client.text(f"/admin/agent/edit/?id={agent.id}")
    assert "https://tv.example" in edit and "t0ken" not in edit
    _saved(client.post(f"/admin/agent/edit/?id={agent.id}", {
        "name": "24h TV", "type": "generic", "enabled": "y", "settings__url": "https://tv2.example",
        "settings__token": ""}))
    with runtime.session() as s:
        agent = s.get(Agent, agent.id)
        assert agent.type == "tv"  # the type of an agent does not change
        assert agent.settings == {"url": "https://tv2.example", "token": "t0ken"}
    created, updated = _audit(runtime, "agent")
    assert created[2]["settings"] == {"url": "https://tv.example", "token": "••••••"}
    assert updated[2]["settings"] == {"old": {"url": "https://tv.example", "token": "••••••"},
                                      "new": {"url": "https://tv2.example", "token": "••••••"}}
    assert "t0ken" not in str(_audit(runtime, "agent"))


#: the selects of the service form, as a browser sends them when left alone
SERVICE_SELECTS = {"method": "", "unit_id": "", "sensor_type_id": "", "agent_type": ""}


def test_tariffs_and_services(client, runtime, factory):
    factory.operator()
    _refused(client.post("/admin/service/new/", {**SERVICE_SELECTS, "name": "Internet", "kind": "periodic",
                                                 "method": "", "price": "500"}),
             "method", "charged daily or monthly")
    _refused(client.post("/admin/service/new/", {**SERVICE_SELECTS, "name": "Traffic", "kind": "counter",
                                                 "price": "0"}),
             "price_per_unit", "needs a price per unit")
    _refused(client.post("/admin/service/new/", {**SERVICE_SELECTS, "name": "Internet", "kind": "periodic",
                                                 "method": "monthly", "price": "-1"}),
             "price", "must not be negative")
    _saved(client.post("/admin/service/new/", {**SERVICE_SELECTS, "name": "Internet", "kind": "periodic",
                                               "method": "monthly", "price": "500,00"}))
    _saved(client.post("/admin/service/new/", {**SERVICE_SELECTS, "name": "Install", "kind": "one_time",
                                               "method": "monthly", "price": "1000"}))
    with runtime.session() as s:
        internet, install = s.scalars(select(Service).order_by(Service.id)).all()
        assert internet.price == Decimal("500.00") and install.method is None
    # the search box of a small list finds a fragment of the name, any case, % literally
    found = client.get("/admin/service/?search=TERN").get_data(as_text=True)
    assert "Internet" in found and "Install" not in found
    assert "Internet" not in client.get("/admin/service/?search=%25").get_data(as_text=True)
    _refused(client.post("/admin/tariff/new/", {"name": "Home", "other_services": [install.id]}),
             "base_services", "at least one base service")
    _saved(client.post("/admin/tariff/new/", {"name": "Home", "base_services": [internet.id],
                                              "other_services": [install.id, internet.id],
                                              "device_limit": "3"}))
    with runtime.session() as s:
        tariff = s.scalars(select(Tariff)).one()
        assert sorted((i.service_id, i.is_base) for i in tariff.items) == [
            (internet.id, True), (install.id, False)]
    _saved(client.post(f"/admin/tariff/edit/?id={tariff.id}", {
        "name": "Home", "base_services": [install.id], "device_limit": ""}))
    with runtime.session() as s:
        tariff = s.get(Tariff, tariff.id)
        assert [(i.service_id, i.is_base) for i in tariff.items] == [(install.id, True)]
        assert tariff.device_limit is None
    created, updated = _audit(runtime, "tariff")
    assert created[2]["services"] == [[internet.id, True], [install.id, False]]
    assert updated[2]["services"] == {"old": [[internet.id, True], [install.id, False]],
                                      "new": [[install.id, True]]}
    assert updated[2]["device_limit"] == {"old": 3, "new": None}


def test_number_plan_patterns(client, runtime):
    _refused(client.post("/admin/numberplan/new/", {"name": "Acts", "pattern": "A-{year}",
                                                    "reset": "yearly"}),
             "pattern", "must contain {seq}")
    _refused(client.post("/admin/numberplan/new/", {"name": "Acts", "pattern": "A-{seq}-{day}",
                                                    "reset": "yearly"}),
             "pattern", "is not a valid pattern")
    _saved(client.post("/admin/numberplan/new/", {"name": "Acts", "pattern": "A-{year}-{seq:04d}",
                                                  "reset": "yearly"}))


def test_roles_are_edited_as_a_grid_and_builtin_ones_stay(client, runtime):
    grid = client.text("/admin/role/new/?copy=3")  # starts from the cashier's permissions
    assert re.search(r'value="payments:create" checked', grid)
    where = _saved(client.post("/admin/role/new/", {"name": "Support", "perm": [
        "accounts:view", "accounts:sync", "bogus:perm", "subscribers:view"]}))
    assert where
    with runtime.session() as s:
        support = s.scalars(select(Role).where(Role.name == "Support")).one()
        assert support.permissions == ["accounts:sync", "accounts:view", "subscribers:view"]
        builtin = s.scalars(select(Role).where(Role.name == "cashier")).one()
    page = client.post(f"/admin/role/edit/?id={builtin.id}", {"name": "cashier",
                                                              "perm": ["staff:edit"]})
    assert "is a built-in role" in page.get_data(as_text=True)
    assert "A built-in role cannot change" in client.text(f"/admin/role/edit/?id={builtin.id}")
    _refused(client.post("/admin/role/new/", {"name": "support"}), "name", "exists")
    with runtime.session() as s:
        assert "staff:edit" not in s.get(Role, builtin.id).permissions
    client.post("/admin/role/delete/", {"id": builtin.id})
    assert "is a built-in role and stays" in client.text("/admin/role/")
    client.post("/admin/role/delete/", {"id": support.id})
    with runtime.session() as s:
        assert s.get(Role, support.id) is None and s.get(Role, builtin.id) is not None
    assert [a for _, a, _ in _audit(runtime, "role")][-2:] == ["create", "delete"]


def test_new_manager_gets_a_one_time_link(client, new_client, runtime, password):
    with runtime.session() as s:
        cashier = s.scalars(select(Role.id).where(Role.name == "cashier")).one()
    _refused(client.post("/admin/manager/new/", {"login": "bad login", "name": "Anna",
                                                 "role_id": cashier, "language": "ru"}),
             "login", "letters, digits")
    _refused(client.post("/admin/manager/new/", {"login": "anna", "name": "Anna",
                                                 "role_id": cashier, "language": "ru",
                                                 "password": "short", "confirm": "short"}),
             "password", "at least 8 characters")
    _saved(client.post("/admin/manager/new/", {"login": "anna", "name": "Anna",
                                               "role_id": cashier, "language": "ru",
                                               "active": "y"}))
    _refused(client.post("/admin/manager/new/", {"login": "anna", "name": "Anna 2",
                                                 "role_id": cashier, "language": "en"}),
             "login", "already taken")
    with runtime.session() as s:
        anna = s.scalars(select(Manager).where(Manager.login == "anna")).one()
        assert anna.password_hash is None and anna.language == "ru"
    page = client.post(f"/admin/manager/link/{anna.id}").get_data(as_text=True)
    link = re.search(r'id="setup-link" value="http://localhost(/setup/[^"]+)"', page)[1]
    visitor = new_client()
    token = visitor.token(link)
    done = visitor.http.post(link, data={"password": password, "confirm": password,
                                         "csrf_token": token})
    assert done.status_code == 302
    assert "Выйти" in visitor.text("/admin/")  # logged in as anna, in Russian
    with runtime.session() as s:
        assert s.scalar(select(AuditEntry.actor).where(AuditEntry.action == "set_password")
                        .order_by(AuditEntry.id.desc())) == "manager:anna"
