"""Outbox throughput on PostgreSQL: 100,000 events delivered to a no-op plugin by two
worker processes (goal: ≥ 5,000 deliveries/s), next to a raw INSERT + UPDATE of the same
rows in the same run (goal: ratio ≥ 0.3).

The events are in the outbox before the workers start (two per contract, so the order
per (plugin, contract) is exercised); the clock runs from the moment both workers are ready until the
last delivery is recorded. The limit inserts the same rows into a copy of the delivery
table (same indexes) and marks them done, set-based: the least work a database does to
take a row in and mark it handled.
"""
from __future__ import annotations

import threading
import time

from bench.common import Figure, fresh_database, in_child, runtime_for, timed
from core.db import make_engine

PREPARE = """
INSERT INTO event (name, account_id, contract_id, payload, created_at)
SELECT 'payment_received', mod(i, {accounts}) + 1, mod(i, {accounts}) + 1, '{{"n": 1}}', now()
FROM generate_series(1, {events}) i;
INSERT INTO delivery (event_id, plugin, account_id, contract_id, state, attempts,
                      next_attempt_at)
SELECT id, 'noop', account_id, contract_id, 'pending', 0, now() FROM event ORDER BY id;
ANALYZE event;
ANALYZE delivery
"""
RAW = """
CREATE TABLE raw_delivery (LIKE delivery INCLUDING ALL);
INSERT INTO raw_delivery SELECT * FROM delivery;
UPDATE raw_delivery SET state = 'done', delivered_at = now(), locked_until = NULL
"""


class NoopPlugin:
    def abonent_payment_received(self, event, ctx):
        pass


def worker_in_child(url: str, start_at: float, worker_id: str, batch: int) -> dict:
    from plugins.outbox import Outbox
    runtime = runtime_for(url, plugins=[("noop", NoopPlugin())],
                          outbox={"batch_size": batch, "lease_seconds": 120})
    outbox = Outbox(runtime, worker_id)
    while time.time() < start_at:
        time.sleep(0.001)
    delivered = 0
    idle_rounds = 0
    while idle_rounds < 20:  # the other worker may still hold the last leases
        count = outbox.run_once()
        delivered += count
        idle_rounds = 0 if count else idle_rounds + 1
        if not count:
            time.sleep(0.05)
    return {"delivered": delivered, "ended": time.time() - 0.05 * 20}


def run(scale: float) -> list[Figure]:
    events = max(2000, int(100_000 * scale))
    batch = 500
    url = fresh_database("outbox")
    engine = make_engine(url)
    with engine.begin() as connection:
        for statement in PREPARE.format(events=events, accounts=events // 2).split(";\n"):
            connection.exec_driver_sql(statement)
    with timed() as raw, engine.begin() as connection:
        for statement in RAW.split(";\n"):
            connection.exec_driver_sql(statement)
    start_at = time.time() + 8  # both children imported and connected by then
    results: list[dict] = []
    threads = [threading.Thread(target=lambda i=i: results.append(in_child(
        "bench.bench_outbox:worker_in_child", url=url, start_at=start_at,
        worker_id=f"bench-{i}", batch=batch))) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as connection:
        done = connection.exec_driver_sql(
            "SELECT count(*) FROM delivery WHERE state = 'done'").scalar()
    engine.dispose()
    assert done == events, f"{done} of {events} delivered"
    delivered = sum(r["delivered"] for r in results)
    seconds = max(r["ended"] for r in results) - start_at
    return [
        Figure(f"outbox, {events:,} events, 2 workers", events / seconds, "deliveries/s",
               "≥ 5,000/s and ratio ≥ 0.3", limit=events / raw["seconds"],
               limit_name="INSERT + UPDATE of the same rows"),
        Figure("deliveries made (at least once; > events means some twice)", delivered,
               "deliveries", f"= {events:,}"),
        Figure("worker peak memory", max(r["peak_mb"] for r in results), "MiB", "—"),
    ]
