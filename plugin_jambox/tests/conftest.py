"""Fixtures for the JAMBOX plugin's tests: everything runs over real sockets on 127.0.0.1.

* ``jambox_emulator`` - one emulated SMS for the whole session (port 0), wiped before each
  test (its date back to today);
* ``jambox_client`` - a :class:`JamboxClient` pointed at it, with a short timeout;
* ``jb`` - the plugin loaded into a runtime (on SQLite and PostgreSQL), a "JAMBOX" agent
  pointed at the emulator, one service per SGT package (external code = package id), and
  helpers to build accounts and look at the SMS.
"""
from __future__ import annotations

import pytest

import plugin_jambox.plugin
from plugin_jambox import connections
from plugin_jambox.client import JamboxClient
from plugin_jambox.emulator import JamboxEmulator
from plugin_jambox.emulator.catalog import DEFAULT_PACKAGES

LOGIN = "Operator Testowy"
PASSWORD = "tajne-haslo-5f1c"
ADDRESS = {"jambox_city": "Kraków", "jambox_street": "Długa", "jambox_home_nr": "5",
           "jambox_flat": "2", "jambox_postal_code": "30-001"}


@pytest.fixture(scope="session")
def jambox_server():
    with JamboxEmulator(LOGIN, PASSWORD) as emulator:
        yield emulator


@pytest.fixture
def jambox_emulator(jambox_server):
    jambox_server.sms.reset()
    jambox_server.sms.set_today(None)
    connections.forget()
    yield jambox_server
    connections.forget()


@pytest.fixture
def jambox_client(jambox_emulator):
    with JamboxClient(jambox_emulator.url, LOGIN, PASSWORD, timeout=2) as client:
        yield client


@pytest.fixture
def abonent_plugins():
    return [("jambox", plugin_jambox.plugin)]


class JamboxWorld:
    """A billing wired to the emulated SMS: a JAMBOX agent, a service per package, helpers
    to build tariffs and accounts and to look at the SMS."""

    def __init__(self, runtime, factory, emulator, drain):
        self.runtime, self.factory, self.emulator, self.drain = runtime, factory, emulator, drain
        self.sms = emulator.sms
        factory.operator()
        self.services = {p.package_id: factory.service(name=f"JAMBOX {p.pkg_name}",
                                                       price=p.gross, agent_type="jambox",
                                                       external_code=str(p.package_id))
                         for p in DEFAULT_PACKAGES}
        self.agent = factory.agent(type="jambox", name="JAMBOX", sms_url=emulator.url,
                                   login=LOGIN, password=PASSWORD, timeout="2")

    def configure(self, **settings) -> None:
        """Change the agent's settings (e.g. sms_url, lock_sources)."""
        from core.models import Agent
        with self.runtime.session() as s:
            agent = s.get(Agent, self.agent.id)
            agent.settings = {**agent.settings, **settings}

    def tariff(self, base: int = 101, addons=(201,), **kw):
        return self.factory.tariff(base=[self.services[base]],
                                   extra=[self.services[p] for p in addons], **kw)

    def account(self, login: str = "tv1", tariff=None, fields=None, contract=None, **kw):
        return self.factory.account(contract=contract, tariff=tariff or self.tariff(),
                                    agent=self.agent, login=login,
                                    fields={**ADDRESS, **(fields or {})}, **kw)

    # --- the SMS's side -------------------------------------------------------------------

    def customer(self, contract_id: int):
        """The SMS customer whose external id is the contract, or None."""
        found = [c for c in self.sms.customers.values()
                 if c.data.get("cust_external_id") == str(contract_id)]
        assert len(found) <= 1, found
        return found[0] if found else None

    def tv_accounts(self, contract_id: int) -> list:
        customer = self.customer(contract_id)
        if customer is None:
            return []
        return [a for a in self.sms.accounts.values() if a.cust_number == customer.cust_number]

    def packages(self, contract_id: int, live: bool = True) -> list[tuple[int, bool, str]]:
        """(package id, active?, valid to) of the customer's subscriptions (the live ones)."""
        today = self.sms.today
        return sorted((s.package_id, s.active, s.valid_to.isoformat() if s.valid_to else "")
                      for a in self.tv_accounts(contract_id)
                      for s in self.sms.account_subscriptions(a.account_id)
                      if not live or s.live(today))

    def calls(self, name: str | None = None) -> list:
        return [c for c in self.sms.calls if name is None or c[0] == name]


@pytest.fixture
def jb(runtime, factory, jambox_emulator, drain):
    return JamboxWorld(runtime, factory, jambox_emulator, drain)
