"""JAMBOX billing events import: 200,000 events of a month (10,000 linked customers)
fetched from the emulated SMS in day windows, read as a stream and written on PostgreSQL,
in events per second (goal >= 5,000/s).

Its limit is the reading alone: the plugin's client fetching and parsing the same day
windows from the same emulator, with no database. Memory is the peak resident memory of
the importing process (bench.common.in_child), for one day (6,667 events) next to the
whole month: the goal is that it does not grow with the period. A second import of the
month (everything stored: nothing inserted) is timed against the first (goal: under a
third of its time: an answer unchanged since it was imported is not parsed again). The
emulator runs in this process, on a real socket; the customers
are inserted set-based beforehand (not measured).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select, text

from bench.common import Figure, fresh_database, in_child, runtime_for, timed
from bench.population import analyze, populate
from core import migrate
from core.db import make_engine

EVENTS = 200_000
CUSTOMERS = 10_000
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)
LOGIN, PASSWORD = "bench", "bench-password"
CUST_BASE, ACCOUNT_BASE = 673_000_000, 40_000


def _database(customers: int, sms_url: str) -> str:
    """A migrated database (the core and the plugin's branch) with `customers` contracts
    linked to SMS customers CUST_BASE + id, and a JAMBOX agent at `sms_url`."""
    import plugin_jambox.plugin
    url = fresh_database("jambox")
    engine = make_engine(url)
    migrate.upgrade(engine, branches=migrate.Branches(enabled={
        "jambox": Path(plugin_jambox.plugin.__file__).parent / "migrations"}))
    engine.dispose()
    populate(url, customers)
    runtime = runtime_for(url)
    with runtime.session(actor="bench") as s:
        s.execute(text(
            "INSERT INTO external_link (plugin, kind, local_id, external_id, data, updated_at) "
            "SELECT 'jambox', 'customer', g, (:base + g)::text, '{}', now() "
            "FROM generate_series(1, :n) g"), {"base": CUST_BASE, "n": customers})
        s.execute(text(
            "INSERT INTO agent (type, name, settings, enabled) VALUES ('jambox', 'JAMBOX', "
            "CAST(:settings AS json), true)"),
            {"settings": f'{{"sms_url": "{sms_url}", "login": "{LOGIN}", '
                         f'"password": "{PASSWORD}", "events_timeout": "120"}}'})
    analyze(runtime.engine)
    runtime.engine.dispose()
    return url


def import_child(url: str, first: str, last: str) -> dict:
    """Run in a child process: import the days, return what it did and how long."""
    import plugin_jambox.plugin
    from plugin_jambox.billing_import import import_events
    runtime = runtime_for(url, plugins=[("jambox", plugin_jambox.plugin)])
    with timed() as took:
        report = import_events(runtime, first, last)
    return {"seconds": took["seconds"], "fetched": report.fetched, "inserted": report.inserted,
            "failed": report.failed}


def read_child(sms_url: str, first: str, last: str) -> dict:
    """Run in a child process: fetch and parse the same day windows, no database."""
    from plugin_jambox.billing_import import fetch_window, read_events, spool, windows
    from plugin_jambox.client import JamboxClient
    read = 0
    with JamboxClient(sms_url, LOGIN, PASSWORD, events_timeout=120) as client, timed() as took:
        for start, end in windows(date.fromisoformat(first), date.fromisoformat(last), 1):
            with spool() as body:
                fetch_window(client, start, end, body)
                read += sum(1 for _ in read_events(body, "bench"))
    return {"seconds": took["seconds"], "read": read}


def _stored(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(text("jambox_billing_event")))
    engine.dispose()
    return count


def run(scale: float) -> list[Figure]:
    from plugin_jambox.emulator import JamboxEmulator
    from plugin_jambox.emulator.billing import generate_events
    events, customers = max(30, int(EVENTS * scale)), max(1, int(CUSTOMERS * scale))
    month, day = (str(FIRST), str(LAST)), (str(FIRST), str(FIRST))
    with JamboxEmulator(LOGIN, PASSWORD) as emulator:
        generate_events(emulator.sms, events, FIRST, LAST, [
            (CUST_BASE + i, str(i), ACCOUNT_BASE + i) for i in range(1, customers + 1)])
        per_day = sum(1 for e in emulator.sms.billing_events if e.selling_date == FIRST)
        alone = in_child("bench.bench_jambox:read_child", sms_url=emulator.url, first=month[0],
                         last=month[1])
        one_day = in_child("bench.bench_jambox:import_child",
                           url=_database(customers, emulator.url), first=day[0], last=day[1])
        url = _database(customers, emulator.url)
        first = in_child("bench.bench_jambox:import_child", url=url, first=month[0],
                         last=month[1])
        again = in_child("bench.bench_jambox:import_child", url=url, first=month[0],
                         last=month[1])
    stored = _stored(url)
    if (alone["read"], first["inserted"], again["inserted"], stored, one_day["inserted"]) != (
            events, events, 0, events, per_day) or first["failed"] or again["failed"]:
        raise RuntimeError(f"expected {events} events stored once ({per_day} on day one): "
                           f"read {alone}, first {first}, again {again}, day {one_day}, "
                           f"stored {stored}")
    return [
        Figure(f"billing events import, {events:,} events over 30 days "
               f"({customers:,} customers, day windows)", events / first["seconds"],
               "events/s", ">= 5,000 events/s", limit=events / alone["seconds"],
               limit_name="fetching and parsing the same windows alone"),
        Figure(f"peak memory importing the month ({events:,} events)", first["peak_mb"], "MB",
               "does not grow with the period", limit=one_day["peak_mb"],
               limit_name=f"importing one day ({per_day:,} events)", higher_is_better=False),
        Figure("second import of the month (nothing new: 0 inserted)", again["seconds"], "s",
               "ratio >= 3 (under a third of the first import's time)", limit=first["seconds"],
               limit_name="the first import", higher_is_better=False),
    ]
