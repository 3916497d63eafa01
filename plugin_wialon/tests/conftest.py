"""Fixtures for the Wialon plugin's tests: a live emulator and clients pointed at it,
and the plugin loaded into a runtime with Carbon Billing's counter set-up (``world``).

Every test gets its own emulator on a free port, so faults injected by one
test cannot leak into another.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import func, select

import plugin_wialon.plugin
from core.cdr import spool_root
from core.models import Agent, Base, Charge, SensorType, Service, Tariff
from plugin_wialon.client import Backoff, WialonClient
from plugin_wialon.collect import collect
from plugin_wialon.config import PLUGIN
from plugin_wialon.emulator import WialonEmulator, load_demo
from plugin_wialon.selection import PCS

# Wialon tokens are 72 characters.
WIALON_TOKEN = "5dce19710a5e26ab8b7b8986cb3c49e58c3b9d6af0d2f30e5d5b1b2c6c8d8e0a12345678"
WIALON_USER = "billing"
# Retry quickly in tests; the shape of the schedule is what matters.
FAST_BACKOFF = Backoff(base=0.01, cap=0.1, attempts=20)


@pytest.fixture
def wialon_token() -> str:
    return WIALON_TOKEN


@pytest.fixture
def wialon_emulator():
    """An emulator with the demo seed: account 777 with 6 units and 1001..1300."""
    with WialonEmulator({WIALON_TOKEN: WIALON_USER}) as emulator:
        load_demo(emulator.state)
        yield emulator


@pytest.fixture
def make_wialon_client(wialon_emulator):
    """Build WialonClients against ``wialon_emulator``; all are closed afterwards."""
    clients = []

    def make(token: str = WIALON_TOKEN, **options) -> WialonClient:
        options.setdefault("backoff", FAST_BACKOFF)
        client = WialonClient(wialon_emulator.url, token, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


# --- the plugin in a runtime (SQLite and PostgreSQL) ----------------------------------

#: The day the tests charge, and the day their accounts' subscriptions start.
DAY = date(2026, 5, 4)
START = date(2026, 5, 1)
PRICE = Decimal("3.00")


@pytest.fixture
def abonent_plugins():
    return [(PLUGIN, plugin_wialon.plugin)]


@dataclass
class WialonWorld:
    """Carbon Billing's set-up against an emulator: sensor_1, the counter service
    "GPS tracking, per object" at 3.00 per pcs daily on a tariff, a Wialon agent."""

    day: ClassVar[date] = DAY
    start: ClassVar[date] = START
    token: ClassVar[str] = WIALON_TOKEN

    runtime: Any
    factory: Any
    emulator: WialonEmulator
    sensor: SensorType
    service: Service
    tariff: Tariff
    agent: Agent

    @property
    def folder(self) -> Path:
        return spool_root(self.runtime) / "Wialon_1"

    def account(self, ext_id=None, *, tariff=None, agent=None, **kw):
        """An account of the agent (or `agent`) on the counter tariff from START."""
        fields = {} if ext_id is None else {"ext_id": ext_id}
        kw.setdefault("start_on", START)
        return self.factory.account(tariff=tariff or self.tariff, agent=agent or self.agent,
                                    fields=fields, **kw)

    def collect(self, day: date = DAY, **kw):
        return collect(self.runtime, self.agent.id, day, **kw)

    def set_agent(self, **settings) -> None:
        with self.runtime.session() as s:
            agent = s.get(Agent, self.agent.id)
            agent.settings = {**agent.settings, **settings}

    def charges(self) -> dict[int, list[tuple[date, Decimal, Decimal]]]:
        """account id → its usage charges as (day, quantity, amount)."""
        found: dict[int, list] = {}
        with self.runtime.session() as s:
            for charge in s.scalars(select(Charge).where(Charge.kind == "usage")
                                    .order_by(Charge.id)):
                found.setdefault(charge.account_id, []).append(
                    (charge.period_start, charge.quantity, charge.amount))
        return found

    def files(self, where: str = "done") -> list[Path]:
        folder = self.folder / where if where else self.folder
        return sorted(p for p in folder.iterdir()
                      if p.is_file() and not p.name.startswith(".")) if folder.is_dir() else []

    def lines(self, where: str = "done") -> list[str]:
        return [line for path in self.files(where) for line in path.read_text().splitlines()]


@pytest.fixture
def table_counts(runtime):
    """table_counts() → rows per table: "nothing was written" is these staying equal."""
    def take() -> dict[str, int]:
        with runtime.session() as s:
            return {table.name: s.scalar(select(func.count()).select_from(table))
                    for table in Base.metadata.sorted_tables}
    return take


@pytest.fixture
def world(runtime, factory, wialon_emulator) -> WialonWorld:
    factory.operator()
    with runtime.session(actor="test") as s:
        sensor = SensorType(name="sensor_1")
        s.add(sensor)
    service = factory.service(name="GPS tracking, per object", kind="counter", price="0",
                              method="daily", price_per_unit=PRICE, unit_id=PCS,
                              sensor_type_id=sensor.id)
    tariff = factory.tariff(name="GPS tracking", base=[service])
    agent = factory.agent(type="wialon", name="Wialon", api_url=wialon_emulator.url,
                          token=WIALON_TOKEN)
    return WialonWorld(runtime, factory, wialon_emulator, sensor, service, tariff, agent)
