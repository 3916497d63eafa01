"""Fixtures for the JAMBOX plugin's tests: everything runs over real sockets on 127.0.0.1.

* ``jambox_emulator`` - one emulated SMS for the whole session (port 0), wiped before each
  test (its date back to today);
* ``jambox_client`` - a :class:`JamboxClient` pointed at it, with a short timeout;
* ``jb`` - the plugin loaded into a runtime (on SQLite and PostgreSQL), a "JAMBOX" agent
  pointed at the emulator, one service per SGT package (external code = package id), and
  helpers to build accounts and look at the SMS.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, time, timezone

import pytest

from core.clock import frozen

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

    @contextmanager
    def day(self, when: date):
        """The billing's clock and the SMS's date both on `when` (noon UTC)."""
        self.sms.set_today(when)
        with frozen(datetime.combine(when, time(12), timezone.utc)):
            yield
        self.sms.set_today(None)

    def calls(self, name: str | None = None) -> list:
        return [c for c in self.sms.calls if name is None or c[0] == name]


@pytest.fixture
def jb(runtime, factory, jambox_emulator, drain):
    return JamboxWorld(runtime, factory, jambox_emulator, drain)


# --- billing events (the billing events' tests) ------------------------------------------------

class BillingWorld:
    """`jb` plus SMS customers linked to contracts, their events, and the events stored."""

    def __init__(self, jb: JamboxWorld):
        self.jb, self.runtime, self.sms, self.factory = jb, jb.runtime, jb.sms, jb.factory

    def customer(self, contract=None, link: bool = True):
        """A contract with an SMS customer (external id = the contract id) and a TV account
        there, linked (kind "customer") unless `link` is false; returns (contract,
        cust_number, SMS account id)."""
        from plugin_jambox import store
        from plugin_jambox.emulator.state import Customer, TvAccount
        contract = contract or self.factory.contract()
        with self.sms.lock:
            number = self.sms.next_id("cust")
            self.sms.customers[number] = Customer(number, {
                "cust_name": "Jan", "cust_surname": f"Klient {number}",
                "cust_external_id": str(contract.id)})
            account_id = self.sms.next_id("account")
            self.sms.accounts[account_id] = TvAccount(account_id, number, {})
        if link:
            with self.runtime.session() as s:
                store.link_customer(s, contract.id, number)
        return contract, number, account_id

    def event(self, customer, day, gross, **kw):
        """Add an SGT event for a customer made by `customer()`."""
        from plugin_jambox.emulator.billing import add_event
        _, number, account_id = customer
        return add_event(self.sms, number, account_id, day, gross, **kw)

    def stored(self) -> dict:
        """The stored events as SGT listed them, by SMS id."""
        from sqlalchemy import select
        from plugin_jambox.billing_models import BillingEvent
        with self.runtime.session() as s:
            return {e.sms_id: {
                "id": e.sms_id, "cust_external_id": e.cust_external_id or "",
                "cust_number": int(e.cust_number), "account_id": int(e.account_id),
                "be_selling_date": e.selling_date.isoformat(), "be_desc": e.description,
                "be_vat": e.vat.normalize(), "be_gross": e.gross, "be_b2b_netto": e.b2b_net,
                "group_id": e.report_id, "package_id": e.package_id}
                for e in s.scalars(select(BillingEvent))}

    def in_sms(self) -> dict:
        return {e.id: {**e.view(), "be_vat": e.vat.normalize()} for e in self.sms.billing_events}

    def cli(self, *args: str):
        """`abonent …` as an operator runs it (a child process, the installed plugin loaded
        from its entry point) against the test's database; never a traceback."""
        import os
        import subprocess
        import sys
        from pathlib import Path
        settings = self.runtime.settings
        env = {**os.environ, "ABONENT_DATABASE_URL": settings.database_url,
               "ABONENT_VAR_DIR": str(settings.var_dir)}
        env.pop("ABONENT_CONFIG", None)
        result = subprocess.run([str(Path(sys.executable).parent / "abonent"), *args], env=env,
                                capture_output=True, text=True, timeout=120)
        assert "Traceback" not in result.stderr, result.stderr
        return result


@pytest.fixture
def billing(jb):
    return BillingWorld(jb)
