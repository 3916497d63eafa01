"""Processes that survive the database's death and their own (issue 18), shown with real
`abonent` processes on a private PostgreSQL cluster that the tests stop and restart:

- a worker and a scheduler started before their database wait for it, then work;
- `pg_ctl restart` under `serve`, two workers and two schedulers: every process lives on,
  every payment reaches the platform once, the scheduled slots go on;
- a delivery made while the database goes down is written when it is back, not re-sent,
  and a page asked for meanwhile answers 503 "try again";
- the daily billing run cut short by the database going down runs again once it is back;
- a worker killed (SIGKILL) mid-batch holds its accounts only until its short lease runs
  out, while the heartbeat keeps a live worker's leases however long its batch takes.

The platform is tests/procs/fileplugin: it appends each delivery with its contract, amount
and idempotency key, so the tests compare money (what the platform was told per contract)
with the balances, not only counts.
"""
from __future__ import annotations

import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from admin.app import create_app
from admin.serve import answer_503_while_database_away
from core import migrate
from core.config import validate_settings
from core.db import unavailable
from core.clock import today
from core.contributions import JobSpec
from core.models import Charge, Contract, Delivery, JobRun
from core.services.payments import record_payment
from fleet import Cluster, Fleet, free_port, wait_for
from plugins.builtin import billing_day
from plugins.host import build_runtime
from plugins.outbox import Outbox
from plugins.scheduler import run_as_leader
from plugins.testing import Factory, RecordingPlugin, create_postgres_database
from support import PROCS

sys.path.insert(0, str(PROCS))
import fileplugin  # noqa: E402  (the platform the processes load by entry point)

pytestmark = pytest.mark.postgresql_only
UNAVAILABLE = "database unavailable"


@pytest.fixture(scope="module")
def cluster():
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def fleet(abonent_backend, cluster, tmp_path):
    """Processes on a fresh, migrated database of the private cluster; ended after the test."""
    url = create_postgres_database(cluster.url, "failover")
    fleet = Fleet(tmp_path, url)
    yield fleet
    fleet.end()


def _runtime(url: str, var_dir, extra_plugins, **sections):
    """An in-process runtime on a database of the private cluster, migrated."""
    settings = validate_settings({"database_url": url, "var_dir": str(var_dir), **sections},
                                 "test")
    runtime = build_runtime(settings, extra_plugins=extra_plugins, load_entrypoints=False)
    migrate.upgrade(runtime.engine)
    return runtime


@pytest.fixture
def billing(fleet, tmp_path):
    """The test's own view of the database: the billing that takes the payments."""
    runtime = _runtime(fleet.database_url, tmp_path / "test-var", [("fileplugin", fileplugin)],
                       plugins={"fileplugin": {"path": str(fleet.sink)}})
    yield runtime
    runtime.engine.dispose()


def _pay(runtime, contracts, tag: str, amount: str = "1.00") -> None:
    with runtime.session(actor="test") as s:
        for contract in contracts:
            record_payment(s, contract.id, amount, source="failover",
                           external_id=f"{tag}-{contract.id}")


def _told_per_contract(fleet, *, once_per_key: bool) -> dict[int, Decimal]:
    """What the platform was told each contract paid: every delivery it received, or one
    per idempotency key (what a platform that honours the keys applies)."""
    seen, told = set(), defaultdict(Decimal)
    for row in fleet.delivered():
        if once_per_key and row["key"] in seen:
            continue
        seen.add(row["key"])
        told[row["contract"]] += Decimal(row["amount"])
    return dict(told)


def _balances(runtime) -> dict[int, Decimal]:
    with runtime.session() as s:
        return {c.id: c.balance for c in s.scalars(select(Contract)) if c.balance}


def _ticks(runtime, since: datetime | None = None) -> list[JobRun]:
    with runtime.session() as s:
        query = select(JobRun).where(JobRun.job_id == "test.tick", JobRun.status == "ok")
        if since is not None:
            query = query.where(JobRun.started_at > since)
        return list(s.scalars(query.order_by(JobRun.id)))


def _all_delivered(runtime) -> bool:
    with runtime.session() as s:
        return s.scalar(select(Delivery.id).where(Delivery.state != "done").limit(1)) is None


def _assert_quiet_logs(processes, outages: int) -> None:
    """No traceback, and at most one "database unavailable" line per outage and per loop
    (serve runs a worker and a scheduler: two), never one per attempt."""
    for process in processes:
        text = process.log_text()
        assert "Traceback" not in text, text[-4000:]
        loops = 2 if process.args[1] == "serve" else 1
        assert text.count(UNAVAILABLE) <= outages * loops, text[-4000:]


def _healthy(port: int) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
        assert answer.status == 200


def test_processes_wait_for_a_database_not_up_yet(fleet, billing, cluster):
    """Started while PostgreSQL is down, serve, a worker and a scheduler wait (one log line
    each) instead of exiting, and work once it is up."""
    factory = Factory(billing)
    contracts = [factory.contract() for _ in range(3)]
    _pay(billing, contracts, "early", "7.50")
    port = free_port()
    cluster.stop()
    try:
        processes = [fleet.start("serve", "--port", str(port), "--no-worker", "--no-scheduler"),
                     fleet.start("worker", "--id", "early"), fleet.start("scheduler")]
        wait_for(lambda: all(UNAVAILABLE in p.log_text() for p in processes), 30,
                 "every process to report the database unavailable", processes)
        time.sleep(2)  # a few back-off rounds: still alive, still one line each
        assert [p.poll() for p in processes] == [None] * 3
    finally:
        cluster.start()
    wait_for(lambda: _told_per_contract(fleet, once_per_key=False) == _balances(billing), 30,
             "the payments to reach the platform", processes)
    wait_for(lambda: _ticks(billing), 30, "the scheduler to run its job", processes)
    wait_for(lambda: "serving on" in processes[0].log_text(), 30, "serve to listen", processes)
    _healthy(port)
    assert _balances(billing) == {c.id: Decimal("7.50") for c in contracts}
    assert all(p.poll() is None for p in processes)
    _assert_quiet_logs(processes, outages=1)
    assert all("database is back" in p.log_text() for p in processes)


def test_database_restart_under_every_process(fleet, billing, cluster):
    """`pg_ctl restart` under serve, two workers and two schedulers: all live on, every
    payment reaches the platform exactly once, and the scheduled slots go on."""
    fleet.configure(delay="0.2")  # deliveries still under way when the database goes
    factory = Factory(billing)
    contracts = [factory.contract() for _ in range(30)]
    port = free_port()
    processes = [fleet.start("serve", "--port", str(port)),
                 fleet.start("worker", "--id", "w1"), fleet.start("worker", "--id", "w2"),
                 fleet.start("scheduler"), fleet.start("scheduler")]
    wait_for(lambda: _ticks(billing), 30, "a scheduler to lead", processes)
    _pay(billing, contracts, "before", "2.00")
    # restarted while the workers are in the middle of their batches
    wait_for(lambda: len(fleet.delivered()) >= 5, 30, "the workers to start delivering",
             processes)
    cluster.restart()
    restarted = datetime.now(timezone.utc)
    _pay(billing, contracts, "after", "3.00")

    wait_for(lambda: _all_delivered(billing), 40, "the later payments to be delivered",
             processes)
    wait_for(lambda: len(_ticks(billing, since=restarted)) >= 2, 30,
             "the scheduled slots after the restart", processes)
    _healthy(port)
    assert [p.poll() for p in processes] == [None] * 5

    balances = _balances(billing)
    assert balances == {c.id: Decimal("5.00") for c in contracts}
    # nothing lost and nothing doubled: not even a re-send the keys would have absorbed
    assert _told_per_contract(fleet, once_per_key=False) == balances
    _assert_quiet_logs(processes, outages=1)


def test_a_delivery_made_as_the_database_goes_is_written_not_resent(abonent_backend,
                                                                     cluster, tmp_path):
    """The database goes down while a worker is calling the platform: the worker keeps the
    outcome and writes it when the database is back, instead of sending it again."""
    platform = RecordingPlugin()
    runtime = _runtime(create_postgres_database(cluster.url, "gone"), tmp_path / "var",
                       [("platform", platform)])
    contracts = [Factory(runtime).contract() for _ in range(3)]
    _pay(runtime, contracts, "gone", "6.00")
    first = threading.Lock()  # the lanes call the platform at once: one of them stops it

    def stop_once(event):
        if first.acquire(blocking=False):
            cluster.stop()
    platform.fail = stop_once
    outbox = Outbox(runtime, "worker")
    try:
        with pytest.raises(Exception) as raised:
            outbox.run_once()  # delivers the batch, cannot write the outcomes
        assert unavailable(raised.value)
    finally:
        cluster.start()
    assert outbox.drain() == 0  # the kept outcomes are written; nothing is due again
    payments = [e.payload["payment"] for e in platform.events if e.name == "payment_received"]
    assert sorted((p["contract_id"], Decimal(p["amount"])) for p in payments) == [
        (c.id, Decimal("6.00")) for c in contracts]
    with runtime.session() as s:
        assert {(d.state, d.attempts) for d in s.scalars(select(Delivery))} == {("done", 1)}
    assert len({e.idempotency_key for e in platform.events}) == len(platform.events)
    runtime.engine.dispose()


def test_a_page_asked_for_while_the_database_is_away_answers_503(abonent_backend, cluster,
                                                                  tmp_path):
    """serve's web application during a database restart: 503 "try again", not a 500."""
    runtime = _runtime(create_postgres_database(cluster.url, "web"), tmp_path / "var", [])
    app = create_app(runtime)
    answer_503_while_database_away(app)
    client = app.test_client()
    cluster.stop()
    try:
        away = client.get("/setup/no-such-token")  # looks the token up in the database
    finally:
        cluster.start()
    assert (away.status_code, away.headers["Retry-After"]) == (503, "5")
    assert b"try again shortly" in away.data
    assert client.get("/setup/no-such-token").status_code == 404  # back: an unknown token
    runtime.engine.dispose()


class CutShortBilling:
    """A plugin whose job is the daily billing run, fired once a minute at `second`; on
    its first run the database goes down under it, and is back a second later."""

    def __init__(self, cluster: Cluster, second: int):
        self.cluster, self.second, self.calls = cluster, second, 0
        self.back = threading.Timer(1.0, cluster.start)

    def abonent_jobs(self, runtime):
        return [JobSpec("test.billing", self.run, {"second": str(self.second)},
                        "the billing day, cut short once")]

    def run(self, ctx):
        self.calls += 1
        if self.calls == 1:
            self.cluster.stop()
            self.back.start()
        return billing_day(ctx)


def test_a_job_cut_short_by_the_database_runs_again_when_it_is_back(abonent_backend, cluster,
                                                                      tmp_path):
    """The billing run of the day as the database goes down under it: the scheduler runs
    the slot again once the database is back, and the day is charged once."""
    plugin = CutShortBilling(cluster, (datetime.now().second + 4) % 60)
    runtime = _runtime(create_postgres_database(cluster.url, "job"), tmp_path / "var",
                       [("cutshort", plugin)])
    factory = Factory(runtime)
    account = factory.account(
        tariff=factory.tariff(base=[factory.service(price="5.00", method="daily")]),
        contract=factory.contract(do_not_block=True), start_on=today("UTC"))
    stop = threading.Event()
    leader = threading.Thread(target=run_as_leader, args=(runtime, stop), daemon=True)
    leader.start()

    def statuses():
        try:
            with runtime.session() as s:
                return list(s.scalars(select(JobRun.status).order_by(JobRun.id).where(
                    JobRun.job_id == "test.billing")))
        except Exception as exc:  # the database is away for a moment: ask again
            if not unavailable(exc):
                raise
    try:
        # the cut-short run is marked interrupted when the scheduler leads again
        wait_for(lambda: statuses() == ["failed", "ok"], 40, "the slot to run again")
    finally:
        stop.set()
        leader.join(timeout=15)
        if plugin.back.is_alive():
            plugin.back.join()
    assert plugin.calls == 2
    with runtime.session() as s:
        charged = list(s.scalars(select(Charge.amount).where(Charge.account_id == account.id)))
        assert charged == [Decimal("5.00")]
        assert s.get(Contract, account.contract_id).balance == Decimal("-5.00")
    runtime.engine.dispose()


def _leased_by(runtime, worker_id: str) -> set[str]:
    """Idempotency keys of the deliveries `worker_id` holds a lease on, not yet done."""
    with runtime.session() as s:
        return {f"{event_id}:{plugin}" for event_id, plugin in s.execute(
            select(Delivery.event_id, Delivery.plugin).where(
                Delivery.locked_by == worker_id, Delivery.state == "pending",
                Delivery.locked_until.is_not(None)))}


def test_killed_worker_holds_its_accounts_for_seconds(fleet, billing):
    """With the default lease and heartbeat: a worker slower than its lease keeps its
    batch (nobody else sends it), and once it is killed mid-batch, another worker takes
    its accounts within seconds, not after a minute; re-sends carry the same key."""
    lease = 10  # [outbox] lease_seconds by default
    # one call at a time per worker, 0.3 s each: 100 accounts take two workers 15 s, so
    # the first is still busy (and holds its next accounts) past its lease
    fleet.configure(delay="0.3", concurrency=1, batch_size=40)
    factory = Factory(billing)
    contracts = [factory.contract() for _ in range(100)]
    _pay(billing, contracts, "slow", "4.00")
    doomed = fleet.start("worker", "--id", "doomed")
    wait_for(fleet.delivered, 30, "the first worker to deliver", [doomed])
    first = time.monotonic()
    survivor = fleet.start("worker", "--id", "survivor")
    # past the lease of its batch the first worker still holds it: its heartbeat renews it
    wait_for(lambda: time.monotonic() - first > lease + 1, 30, "the first lease to pass",
             [doomed, survivor])
    doomed.kill()
    doomed.wait()
    killed = time.monotonic()
    held = _leased_by(billing, "doomed")
    assert held, "the killed worker should die holding part of its batch"
    wait_for(lambda: held <= {r["key"] for r in fleet.delivered() if r["pid"] == survivor.pid},
             lease + 10, "the survivor to take the dead worker's accounts", [survivor])
    assert time.monotonic() - killed <= lease + 3
    wait_for(lambda: _all_delivered(billing), 30, "every delivery to be done", [survivor])

    balances = _balances(billing)
    assert balances == {c.id: Decimal("4.00") for c in contracts}
    assert _told_per_contract(fleet, once_per_key=True) == balances
    sent = Counter(row["key"] for row in fleet.delivered())
    # only what the dead worker was sending may have gone out twice, with the same key
    assert {key for key, times in sent.items() if times > 1} <= held
