"""Fixtures for the NAS plugin's tests (SQLite and PostgreSQL through plugins.testing).

* ``abonent_plugins`` - the plugin loaded into the test's runtime;
* ``nas`` - a "NAS" agent (MikroTik profile unless a test says otherwise) and helpers to
  build tariffs and accounts on it.

Other test modules of this distribution (the RADIUS server's, NAPALM's, the sync's) add
their fixtures here next to these.
"""
from __future__ import annotations

import pytest

import plugin_nas_oss.plugin

COA_SECRET = "coa-secret-7f3a"
RADIUS_SECRET = "radius-secret-2c9d"


@pytest.fixture
def abonent_plugins():
    return [("nas_oss", plugin_nas_oss.plugin)]


class NasWorld:
    """A billing with one NAS agent: helpers to build accounts on it."""

    def __init__(self, runtime, factory, drain, address="127.0.0.1", coa_port=3799, **settings):
        self.runtime, self.factory, self.drain = runtime, factory, drain
        factory.operator()
        self.service = factory.service(name="Internet 100M", agent_type="nas")
        self.agent = factory.agent(type="nas", name="NAS 1", address=address, coa_port=coa_port,
                                   coa_secret=COA_SECRET, radius_secret=RADIUS_SECRET,
                                   **settings)

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
def nas(runtime, factory, drain):
    return NasWorld(runtime, factory, drain)
