"""The daily charge run over 1,000,000 active subscriptions on PostgreSQL, next to a raw
`INSERT … SELECT` writing the same rows in the same run (goal: ratio ≥ 0.5), and its peak
memory (goal: under 1 GiB).

The limit writes the same rows (same keys, same values) into the same `charge` table,
with the indexes the application needs, in a transaction that is then rolled back: what
the database itself needs to store a day's charges, without our conditions, conflict
checks and balance posting."""
from __future__ import annotations

from datetime import date

from bench.common import Figure, fresh_database, in_child, timed
from bench.population import populate
from core.db import make_engine

DAY = date(2026, 11, 16)
RAW = """
INSERT INTO charge (key, contract_id, account_id, subscription_id, service_id, kind,
                    period_start, period_end, quantity, amount, batch, created_at)
SELECT 'r:2026-11-16:' || lpad(s.id::text, 12, '0'), a.contract_id, a.id, s.id, sv.id,
       'periodic', DATE '2026-11-16', DATE '2026-11-16', 1, sv.price, 'raw', now()
FROM subscription s JOIN service sv ON sv.id = s.service_id JOIN account a ON a.id = s.account_id
"""


def charge_in_child(url: str, day: str) -> dict:
    """The run as `abonent charge run` does it (a child process, for its peak memory)."""
    from bench.common import runtime_for
    from core.billing_day import run_day
    runtime = runtime_for(url)
    with timed() as clock, runtime.session(actor="bench") as session:
        summary = run_day(session, date.fromisoformat(day))
    return {"seconds": clock["seconds"], "summary": summary.as_dict()}


def run(scale: float) -> list[Figure]:
    accounts = max(1000, int(500_000 * scale))  # two base subscriptions each
    url = fresh_database("charge")
    populate(url, accounts)
    subscriptions = 2 * accounts
    engine = make_engine(url)
    with engine.connect() as connection:
        with timed() as raw:
            connection.exec_driver_sql(RAW)
        connection.rollback()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE charge")  # no dead rows left for our run
    engine.dispose()
    ours = in_child("bench.bench_charge:charge_in_child", url=url, day=DAY.isoformat())
    charged = sum(v["count"] for v in ours["summary"]["charges"].values())
    assert charged == subscriptions, f"charged {charged} of {subscriptions}"
    again = in_child("bench.bench_charge:charge_in_child", url=url, day=DAY.isoformat())
    assert not again["summary"]["charges"], "a second run charged again"
    return [
        Figure(f"charge run, {subscriptions:,} subscriptions", ours["seconds"], "s",
               "ratio ≥ 0.5", limit=raw["seconds"], limit_name="INSERT … SELECT into charge",
               higher_is_better=False),
        Figure("charge run rate", subscriptions / ours["seconds"], "charges/s", "—",
               limit=subscriptions / raw["seconds"], limit_name="INSERT … SELECT"),
        Figure("charge run peak memory", ours["peak_mb"], "MiB", "< 1024 MiB"),
        Figure("second run of the same day (writes nothing)", again["seconds"], "s", "—"),
    ]
