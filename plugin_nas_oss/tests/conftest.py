"""Fixtures for the NAS plugin's tests (SQLite and PostgreSQL through plugins.testing).

* ``abonent_plugins`` - the plugin loaded into the test's runtime;
* ``nas_emulator`` - one emulated NAS for the session (UDP, a free port), reset before
  each test;
* ``nas`` - a "NAS" agent (MikroTik profile unless a test says otherwise) pointed at the
  emulator, and helpers to build tariffs and accounts on it and read the command log.

Other test modules of this distribution (the RADIUS server's, NAPALM's, the sync's) add
their fixtures here next to these.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

import plugin_nas_oss.plugin
from plugin_nas_oss.command_log import NasCommand
from plugin_nas_oss.emulator import NasEmulator

COA_SECRET = "coa-secret-7f3a"
RADIUS_SECRET = "radius-secret-2c9d"


@pytest.fixture
def abonent_plugins():
    return [("nas_oss", plugin_nas_oss.plugin)]


@pytest.fixture(scope="session")
def nas_server():
    with NasEmulator(COA_SECRET) as emulator:
        yield emulator


@pytest.fixture
def nas_emulator(nas_server):
    nas_server.reset()
    return nas_server


class NasWorld:
    """A billing with one NAS agent: helpers to build accounts on it and to read what the
    NAS was sent."""

    def __init__(self, runtime, factory, drain, address="127.0.0.1", coa_port=3799,
                 emulator=None, **settings):
        self.runtime, self.factory, self.drain, self.emulator = runtime, factory, drain, emulator
        self.log_from = 0
        factory.operator()
        self.service = factory.service(name="Internet 100M", agent_type="nas",
                                       activate_string="100M/100M", deactivate_string="64k/64k")
        self.agent = factory.agent(type="nas", name="NAS 1", address=address, coa_port=coa_port,
                                   coa_secret=COA_SECRET, radius_secret=RADIUS_SECRET,
                                   **settings)

    def log(self, account_id=None) -> list[tuple[str, str]]:
        """(command, outcome) of the command log since `log_from`, oldest first."""
        query = (select(NasCommand.command, NasCommand.outcome)
                 .where(NasCommand.id > self.log_from).order_by(NasCommand.id))
        if account_id is not None:
            query = query.where(NasCommand.account_id == account_id)
        with self.runtime.session() as s:
            return [tuple(row) for row in s.execute(query)]

    def forget_log(self) -> None:
        """Make `log` start after the commands sent so far."""
        with self.runtime.session() as s:
            self.log_from = s.scalar(select(func.max(NasCommand.id))) or 0

    def configure(self, **settings) -> None:
        from core.models import Agent
        with self.runtime.session() as s:
            agent = s.get(Agent, self.agent.id)
            agent.settings = {**agent.settings, **settings}

    def account(self, login="bob", fields=None, tariff=None, agent=None, **kw):
        return self.factory.account(tariff=tariff or self.factory.tariff(base=[self.service]),
                                    agent=agent or self.agent, login=login,
                                    fields={"radius_password": "pw", **(fields or {})}, **kw)


@pytest.fixture
def nas_log(runtime):
    """nas_log(account_id) → (command, outcome) of the account's commands, oldest first."""
    def read(account_id: int) -> list[tuple[str, str]]:
        with runtime.session() as s:
            return [tuple(row) for row in s.execute(
                select(NasCommand.command, NasCommand.outcome)
                .where(NasCommand.account_id == account_id).order_by(NasCommand.id))]
    return read


@pytest.fixture
def nas(runtime, factory, drain, nas_emulator):
    return NasWorld(runtime, factory, drain, coa_port=nas_emulator.port, emulator=nas_emulator,
                    timeout="0.3", retries=0)
