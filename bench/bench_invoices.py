"""The month's invoice run over 100,000 contracts on PostgreSQL (goal: ≤ 60 s, peak memory
< 1 GiB), next to a raw `INSERT … SELECT` of the same invoices, lines and events.

Each contract has seven charges in November 2026 (a monthly fee, five days of a daily fee,
one usage charge of a counter service in pcs), written set-based beforehand (not
measured). The limit writes one invoice per contract, one line per (contract, service)
and one event per invoice with three GROUP BY statements, in a transaction that is then
rolled back: what the database itself needs to store the run's rows, without our
batching, numbering, VAT rounding per line and plugin hook. Our run goes in a child
process (bench.common.in_child), so its peak resident memory is its own.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import text

from bench.common import Figure, fresh_database, in_child, runtime_for, timed
from bench.population import populate
from core.db import make_engine

PERIOD = date(2026, 11, 1)
CONTRACTS = 100_000
PATTERN = "INV-{year}-{seq:06d}"
CHARGES = """
INSERT INTO number_plan (id, name, pattern, reset)
VALUES (1, 'bench invoices', :pattern, 'yearly');
UPDATE operator SET invoice_plan_id = 1;
INSERT INTO service (id, name, kind, price, price_per_unit, unit_id, archived)
VALUES (3, 'Wialon objects', 'counter', 0, 3, 5, false);
INSERT INTO charge (key, contract_id, account_id, service_id, kind, period_start, period_end,
                    quantity, amount, created_at)
SELECT 'bm:' || i, i, i, 2, 'periodic', DATE '2026-11-01', DATE '2026-11-30', 30, 300, now()
FROM generate_series(1, :n) i;
INSERT INTO charge (key, contract_id, account_id, service_id, kind, period_start, period_end,
                    quantity, amount, created_at)
SELECT 'bd:' || d || ':' || i, i, i, 1, 'periodic', DATE '2026-11-01' + d, DATE '2026-11-01' + d,
       1, 4, now()
FROM generate_series(1, :n) i, generate_series(0, 4) d;
INSERT INTO charge (key, contract_id, account_id, service_id, kind, period_start, period_end,
                    quantity, amount, created_at)
SELECT 'bu:' || i, i, i, 3, 'usage', DATE '2026-11-20', DATE '2026-11-20', mod(i, 7) + 1,
       3 * (mod(i, 7) + 1), now()
FROM generate_series(1, :n) i
"""
RAW = """
INSERT INTO invoice (number, contract_id, operator_id, period_start, period_end, currency,
                     net, vat, gross, issued_at)
SELECT 'RAW-' || contract_id, contract_id, 1, DATE '2026-11-01', DATE '2026-11-30', 'RUB',
       round(sum(amount) / 1.2, 2), sum(amount) - round(sum(amount) / 1.2, 2), sum(amount), now()
FROM charge WHERE period_start BETWEEN DATE '2026-11-01' AND DATE '2026-11-30'
GROUP BY contract_id;
INSERT INTO invoice_line (invoice_id, position, description, service_id, source, quantity,
                          unit, net, vat_rate, vat, gross)
SELECT i.id, row_number() OVER (PARTITION BY i.id ORDER BY s.name), s.name, s.id, 'core',
       sum(c.quantity), 'pcs', round(sum(c.amount) / 1.2, 2), 20,
       sum(c.amount) - round(sum(c.amount) / 1.2, 2), sum(c.amount)
FROM charge c JOIN invoice i ON i.contract_id = c.contract_id AND i.period_start = DATE '2026-11-01'
JOIN service s ON s.id = c.service_id
WHERE c.period_start BETWEEN DATE '2026-11-01' AND DATE '2026-11-30'
GROUP BY i.id, s.id, s.name;
INSERT INTO event (name, contract_id, payload, created_at)
SELECT 'invoice_issued', contract_id,
       json_build_object('invoice', json_build_object('id', id, 'number', number,
           'contract_id', contract_id, 'period_start', period_start, 'period_end', period_end,
           'net', net, 'vat', vat, 'gross', gross)), now()
FROM invoice
"""


def _prepare(url: str, contracts: int) -> Decimal:
    """Contracts and their month of charges; returns the amount charged (the run's gross)."""
    populate(url, contracts, start=PERIOD)
    engine = make_engine(url)
    with engine.begin() as connection:
        for statement in CHARGES.split(";\n"):
            connection.execute(text(statement), {"n": contracts, "pattern": PATTERN})
        charged = connection.scalar(text("SELECT sum(amount) FROM charge"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return charged


def _raw_seconds(url: str) -> float:
    engine = make_engine(url)
    with engine.connect() as connection:
        with timed() as raw:
            for statement in RAW.split(";\n"):
                connection.exec_driver_sql(statement)
        connection.rollback()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE invoice, invoice_line, event")
    engine.dispose()
    return raw["seconds"]


def invoice_in_child(url: str, period: str) -> dict:
    """The run as `abonent invoice run` does it (a child process, for its peak memory)."""
    from core.invoicing import invoice_period
    runtime = runtime_for(url)
    with timed() as took:
        report = invoice_period(runtime, date.fromisoformat(period), actor="bench")
    return {"seconds": took["seconds"], "report": report.as_dict()}


def run(scale: float) -> list[Figure]:
    contracts = max(1000, int(CONTRACTS * scale))
    url = fresh_database("invoices")
    charged = _prepare(url, contracts)
    raw = _raw_seconds(url)
    ours = in_child("bench.bench_invoices:invoice_in_child", url=url, period=PERIOD.isoformat())
    report = ours["report"]
    if (report["issued"], Decimal(report["totals"]["RUB"]["gross"])) != (contracts, charged):
        raise RuntimeError(f"issued {report['issued']} of {contracts} invoices, gross "
                           f"{report['totals']['RUB']['gross']} of {charged}")
    again = in_child("bench.bench_invoices:invoice_in_child", url=url, period=PERIOD.isoformat())
    if again["report"]["issued"] or again["report"]["skipped"] != contracts:
        raise RuntimeError(f"a second run issued again: {again['report']}")
    return [
        Figure(f"invoice run, {contracts:,} contracts (7 charges, 3 lines each)",
               ours["seconds"], "s", "≤ 60 s for 100,000", limit=raw,
               limit_name="INSERT … SELECT of invoices, lines, events", higher_is_better=False),
        Figure("invoice run rate", contracts / ours["seconds"], "invoices/s", "≥ 1,667/s",
               limit=contracts / raw, limit_name="INSERT … SELECT"),
        Figure("invoice run peak memory", ours["peak_mb"], "MiB", "< 1024 MiB",
               higher_is_better=False),
        Figure("second run of the same month (issues nothing)", again["seconds"], "s", "—",
               higher_is_better=False),
    ]
