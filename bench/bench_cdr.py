"""CDR intake: 1,000,000 spool lines over 100,000 accounts with a counter service, taken in
and rated on PostgreSQL, next to a raw `COPY` of the same lines into a plain table (the
limit), and the peak memory of the intake (goal < 1 GiB: the file is streamed by chunks).

A second limit shows what the schema itself costs: one raw `INSERT … SELECT` of the same
rows from the copied table into usage_record and charge (their unique keys, indexes and
seven foreign-key checks per line), with nothing resolved, validated or reported.

The intake runs in a child process (bench.common.in_child), so its peak resident memory
is its own; the accounts are inserted set-based beforehand (not measured).
"""
from __future__ import annotations

import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.common import Figure, fresh_database, in_child, runtime_for, timed
from bench.population import analyze, counter_accounts
from core.models import Agent, NumberPlan, Operator, SensorType, Service, Tariff, TariffService

LINES = 1_000_000
ACCOUNTS = 100_000
DAY = "2024-05-01"
SOURCE = "Bench_1"
PRICE = Decimal("3")


def _seed(url: str, accounts: int) -> None:
    """An operator, sensor type 1, a daily counter service at 3 per unit (pcs), and
    `accounts` contracts with one account each (ext_id = its number) subscribed to it.
    Credit limits are high: blocking is not what is measured here."""
    runtime = runtime_for(url)
    with runtime.session(actor="bench") as s:
        plan = NumberPlan(name="bench contracts", pattern="B-{seq}")
        s.add(plan)
        s.flush()
        operator = Operator(name="Bench ISP", timezone="UTC", contract_plan_id=plan.id)
        sensor = SensorType(id=1, name="sensor_1")
        service = Service(name="Wialon objects", kind="counter", method="daily",
                          price=Decimal(0), price_per_unit=PRICE, unit_id=5, sensor_type_id=1)
        agent = Agent(type="generic", name="bench")
        s.add_all([operator, sensor, service, agent])
        s.flush()
        tariff = Tariff(name="Wialon", items=[TariffService(service_id=service.id, is_base=True)])
        s.add(tariff)
        s.flush()
        counter_accounts(s, accounts, operator=operator.id, agent=agent.id, tariff=tariff.id,
                         service=service.id, day=DAY)
    analyze(runtime.engine)
    runtime.engine.dispose()


def _write_spool(var_dir: Path, lines: int, accounts: int) -> tuple[Path, Decimal]:
    """The spool file (settled: an hour old) and the amount it should charge."""
    folder = var_dir / "cdr" / SOURCE
    folder.mkdir(parents=True)
    path = folder / f"wialon_{DAY}.cdr"
    units = 0
    with open(path, "w", encoding="ascii") as out:
        for i in range(lines):
            value = i % 17 + 1
            units += value
            out.write(f"{i % accounts + 1};5;1;{value}\n")
    stamp = time.time() - 3600
    os.utime(path, (stamp, stamp))
    return path, PRICE * units


def intake_child(url: str, var_dir: str) -> dict:
    """Run in the child process: take the spool, return what it did and how long."""
    from core.cdr import intake
    runtime = runtime_for(url, var_dir=var_dir, cdr={"settle_seconds": 0},
                          billing={"usage_days_back": 100_000})  # DAY is fixed, years back
    with timed() as took:
        reports = intake(runtime)
    return {"seconds": took["seconds"],
            "files": len(reports),
            "lines": sum(r.lines for r in reports),
            "taken": sum(r.taken for r in reports),
            "rejected": sum(r.rejected for r in reports),
            "amount": str(sum((r.amount for r in reports), Decimal(0)))}


def _raw_copy(url: str, path: Path) -> float:
    """Seconds to COPY the same file into a plain table, in one transaction."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection:
        connection.execute("CREATE TABLE raw_cdr (ext_id text, unit_id int, "
                           "sensor_type_id int, value numeric(18, 6))")
        connection.commit()
        with timed() as took:
            with connection.cursor() as cursor, open(path, "rb") as stream:
                with cursor.copy("COPY raw_cdr FROM STDIN (FORMAT csv, DELIMITER ';')") as copy:
                    while block := stream.read(1 << 20):
                        copy.write(block)
            connection.commit()
    return took["seconds"]


def _raw_insert(url: str) -> float:
    """Seconds to insert the copied lines as rated usage records and their charges, in
    one statement, joined to their accounts and subscriptions by ext_id only."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection:
        with timed() as took:
            connection.execute(
                "WITH lines AS (SELECT row_number() OVER () AS n, ext_id, value FROM raw_cdr), "
                "charged AS (INSERT INTO charge (id, key, contract_id, account_id, "
                "subscription_id, service_id, kind, period_start, period_end, quantity, amount, "
                "batch, created_at) SELECT nextval(pg_get_serial_sequence('charge', 'id')), "
                "'u:raw:' || l.n, a.contract_id, a.id, s.id, s.service_id, 'usage', "
                "CAST(%(day)s AS date), CAST(%(day)s AS date), l.value, round(l.value * 3, 2), "
                "'raw', now() FROM lines l JOIN account a ON a.ext_id = l.ext_id "
                "JOIN subscription s ON s.account_id = a.id "
                "RETURNING id, key, account_id, subscription_id, quantity) "
                "INSERT INTO usage_record (key, source, ext_id, unit_id, sensor_type_id, value, "
                "day, state, account_id, subscription_id, charge_id, created_at) "
                "SELECT substr(c.key, 3), 'raw', CAST(c.account_id AS text), 5, 1, c.quantity, "
                "CAST(%(day)s AS date), 'rated', c.account_id, c.subscription_id, c.id, now() "
                "FROM charged c", {"day": DAY})
            connection.commit()
    return took["seconds"]


def run(scale: float) -> list[Figure]:
    lines, accounts = max(1, int(LINES * scale)), max(1, int(ACCOUNTS * scale))
    url = fresh_database("cdr")
    _seed(url, accounts)
    with tempfile.TemporaryDirectory(prefix="bench_cdr_") as var:
        path, expected = _write_spool(Path(var), lines, accounts)
        raw_seconds = _raw_copy(url, path)
        result = in_child("bench.bench_cdr:intake_child", url=url, var_dir=var)
    schema_seconds = _raw_insert(url)
    if (result["taken"], Decimal(result["amount"])) != (lines, expected):
        raise RuntimeError(f"intake took {result['taken']} of {lines} lines charging "
                           f"{result['amount']}, expected {expected}: {result}")
    speed = lines / result["seconds"]
    return [
        Figure(f"CDR intake and rating, {lines:,} lines / {accounts:,} accounts", speed,
               "lines/s", "ratio >= 0.3", limit=lines / raw_seconds,
               limit_name="COPY of the same lines"),
        Figure("the same intake, against the schema's own cost", speed, "lines/s",
               "(informative)", limit=lines / schema_seconds,
               limit_name="INSERT … SELECT of the same rows into usage_record + charge"),
        Figure("peak memory of the intake process", result["peak_mb"], "MB", "< 1024 MB",
               higher_is_better=False),
    ]
