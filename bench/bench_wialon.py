"""The Wialon daily run end to end: 50,000 accounts with a daily counter service counted
against the emulator (core/batch, 10 requests at once), written as a CDR file and rated
by the spool intake on PostgreSQL, in accounts per second (goal >= 2,000/s).

Its limit is the counting alone: the plugin's client asking the same emulator for the
same accounts, with no database, no file and no rating. The ratio says what the billing
side costs on top of Wialon; the rating itself is measured against a raw COPY in
bench_cdr. A second run the same day (everything already charged: nothing to count or
write) is timed too. The accounts are inserted set-based beforehand (not measured); the
emulator runs in this process, on a real socket.
"""
from __future__ import annotations

import tempfile
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

import plugin_wialon.plugin
from bench.common import Figure, fresh_database, runtime_for, timed
from bench.population import analyze, counter_accounts
from core.models import (Agent, Charge, NumberPlan, Operator, SensorType, Service, Tariff,
                         TariffService)
from plugin_wialon.client import WialonClient
from plugin_wialon.collect import collect
from plugin_wialon.emulator import WialonEmulator
from plugin_wialon.selection import PCS

ACCOUNTS = 50_000
DAY = date(2026, 5, 4)
PRICE = Decimal("3")
TOKEN = "b" * 72


def units_of(ext_id: int) -> int:
    return ext_id % 9 + 1


def _seed(runtime, accounts: int, api_url: str) -> int:
    """An operator, sensor_1, the daily counter service at 3 per pcs on a tariff, a Wialon
    agent, and `accounts` contracts with one account each (ext_id = its number) subscribed
    to it; returns the agent's id. Credit limits are high: blocking is not measured."""
    with runtime.session(actor="bench") as s:
        plan = NumberPlan(name="bench contracts", pattern="B-{seq}")
        s.add(plan)
        s.flush()
        sensor = SensorType(name="sensor_1")
        s.add_all([Operator(name="Bench ISP", timezone="UTC", contract_plan_id=plan.id), sensor])
        s.flush()
        service = Service(name="GPS tracking, per object", kind="counter", method="daily",
                          price=Decimal(0), price_per_unit=PRICE, unit_id=PCS,
                          sensor_type_id=sensor.id)
        agent = Agent(type="wialon", name="Wialon", settings={"api_url": api_url,
                                                              "token": TOKEN})
        s.add_all([service, agent])
        s.flush()
        tariff = Tariff(name="GPS tracking",
                        items=[TariffService(service_id=service.id, is_base=True)])
        s.add(tariff)
        s.flush()
        counter_accounts(s, accounts, operator=s.scalar(select(Operator.id)), agent=agent.id,
                         tariff=tariff.id, service=service.id, day=DAY, kind="company",
                         name="Fleet", login="fleet")
        agent_id = agent.id
    analyze(runtime.engine)
    return agent_id


def _counting_alone(url: str, ids: range) -> float:
    """Seconds for the client alone to count `ids` on the emulator."""
    with WialonClient(url, TOKEN) as client, timed() as took:
        counts = client.count_units(ids)
    if any(counts[i].count != units_of(i) for i in ids):
        raise RuntimeError("the client counted wrong")
    return took["seconds"]


def run(scale: float) -> list[Figure]:
    accounts = max(1, int(ACCOUNTS * scale))
    ids = range(1, accounts + 1)
    url = fresh_database("wialon")
    with WialonEmulator({TOKEN: "billing"}) as emulator, \
            tempfile.TemporaryDirectory(prefix="bench_wialon_") as var:
        for ext_id in ids:
            emulator.add_account(ext_id, units_of(ext_id))
        runtime = runtime_for(url, plugins=[("wialon", plugin_wialon.plugin)], var_dir=var)
        agent_id = _seed(runtime, accounts, emulator.url)
        alone = _counting_alone(emulator.url, ids)
        with timed() as first:
            report = collect(runtime, agent_id, DAY)
        with timed() as second:
            again = collect(runtime, agent_id, DAY)
        with runtime.session() as s:
            charged = s.scalar(select(func.sum(Charge.amount)).where(Charge.kind == "usage"))
        runtime.engine.dispose()
    expected = PRICE * sum(units_of(i) for i in ids)
    if (report.counted, report.rated, report.amount, charged) != (
            accounts, accounts, expected, expected) or again.skipped != accounts:
        raise RuntimeError(f"expected {accounts} accounts charged {expected} once: "
                           f"{report.summary()} then {again.summary()}, charged {charged}")
    return [
        Figure(f"Wialon daily run end to end, {accounts:,} accounts (count, write, rate)",
               accounts / first["seconds"], "accounts/s", ">= 2,000 accounts/s",
               limit=accounts / alone, limit_name="counting alone on the same emulator"),
        Figure("second run the same day (all skipped, nothing written)",
               accounts / second["seconds"], "accounts/s", "idempotent: no line, no charge"),
    ]
