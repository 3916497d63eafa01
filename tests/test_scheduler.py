"""Scheduled jobs: each run recorded with its outcome (ok, partial, failed), result or
error; `abonent jobs` and its exit codes say the outcome; one leader at a time, a waiting
scheduler takes over when the leader dies and runs the slot that fell due meanwhile."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from core import ConfigError, JobSpec, NotFound, today
from core.config import validate_settings
from core.models import JobRun
from core.jobs import job_specs, last_runs, run_job
from plugins.scheduler import LOCK_KEY, Scheduler
from support import PROCS, cli_runner, fake_distribution

ABONENT = Path(sys.executable).parent / "abonent"


class Jobs:
    def __init__(self):
        self.calls = 0
        self.slot: datetime | None = None  # when set, "jobs.daily" runs daily at this time
        self.daily_runs: list[str] = []

    def good(self, ctx):
        self.calls += 1
        return {"calls": self.calls, "plugin": ctx.name}

    def bad(self, ctx):
        raise RuntimeError("the platform is down")

    def daily(self, ctx):
        self.daily_runs.append(threading.current_thread().name)
        return {"summary": "counted the day"}

    def abonent_jobs(self, runtime):
        specs = [JobSpec("jobs.good", self.good, {"hour": 1}, "works"),
                 JobSpec("jobs.bad", self.bad, {"hour": 2}, "fails"),
                 JobSpec("jobs.partial", lambda ctx: {
                     "outcome": "partial", "summary": "1 of 2 accounts failed: 7: bad token",
                     "failed": [7]}, {"hour": 3}, "half done"),
                 JobSpec("jobs.quiet", lambda ctx: {"outcome": "failed",
                                                    "summary": "nothing counted"},
                         {"hour": 3}, "fails without raising"),
                 JobSpec("jobs.confused", lambda ctx: {"outcome": "fine"}, {"hour": 3},
                         "returns an outcome that does not exist")]
        if self.slot is not None:
            specs.append(JobSpec("jobs.daily", self.daily, {
                "hour": self.slot.hour, "minute": self.slot.minute, "second": self.slot.second},
                "a daily slot"))
        return specs


@pytest.fixture
def jobs():
    return Jobs()


@pytest.fixture
def abonent_plugins(jobs):
    return [("jobs", jobs)]


def test_runs_are_recorded(runtime, jobs):
    assert {"core.billing_day", "jobs.good", "jobs.bad"} <= set(job_specs(runtime))
    assert run_job(runtime, "jobs.good")["result"] == {"calls": 1, "plugin": "jobs"}
    failed = run_job(runtime, "jobs.bad")
    assert failed["status"] == "failed" and failed["error"] == "RuntimeError: the platform is down"
    with runtime.session() as s:
        runs = last_runs(s)
        assert runs["jobs.good"].status == "ok" and runs["jobs.good"].finished_at
        assert runs["jobs.bad"].error == "RuntimeError: the platform is down"
    with pytest.raises(NotFound, match="no job 'nope'"):
        run_job(runtime, "nope")


def test_a_run_is_recorded_with_the_outcome_its_result_gives(runtime):
    partial = run_job(runtime, "jobs.partial")
    assert (partial["status"], partial["summary"], partial["error"]) == (
        "partial", "1 of 2 accounts failed: 7: bad token", None)
    assert partial["result"]["failed"] == [7]
    quiet = run_job(runtime, "jobs.quiet")
    assert (quiet["status"], quiet["summary"]) == ("failed", "nothing counted")
    confused = run_job(runtime, "jobs.confused")
    assert confused["status"] == "failed"
    assert confused["error"] == ("job jobs.confused returned outcome 'fine' "
                                 "(expected one of ok, partial, failed)")
    assert run_job(runtime, "jobs.good")["status"] == "ok"  # no outcome given: ok
    with runtime.session() as s:
        assert {job: run.status for job, run in last_runs(s).items()} == {
            "jobs.partial": "partial", "jobs.quiet": "failed", "jobs.confused": "failed",
            "jobs.good": "ok"}


def test_a_plugin_runs_a_recorded_job_through_its_context(runtime):
    outcome = runtime.context("jobs").run_job("jobs.partial", trigger="demo")
    with runtime.session() as s:
        run = s.get(JobRun, outcome["run_id"])
        assert (run.status, run.trigger, run.result["summary"]) == (
            "partial", "demo", "1 of 2 accounts failed: 7: bad token")
        assert run.finished_at is not None


def test_billing_day_job(runtime, factory):
    factory.account(tariff=factory.tariff(base=[factory.service(price="5.00", method="daily")]))
    outcome = run_job(runtime, "core.billing_day")
    assert outcome["status"] == "ok"
    assert outcome["result"]["charges"]["daily"] == {"count": 1, "amount": "5.00"}
    assert outcome["summary"] == f"{today('UTC')}: 1 charges, 5.00; blocked for balance: 1"


def _plugin_path(tmp_path, plugin: str) -> str:
    """PYTHONPATH on which tests/procs/<plugin>.py is an installed plugin."""
    site = fake_distribution(tmp_path / "site", f"abonent-{plugin}", {plugin: plugin})
    return os.pathsep.join([str(site), str(PROCS)])


def _scheduler(tmp_path, url, plugin: str = "jobplugin", **env):
    env = {**os.environ, "ABONENT_DATABASE_URL": url, "ABONENT_VAR_DIR": str(tmp_path),
           "PYTHONPATH": _plugin_path(tmp_path, plugin), **env}
    return subprocess.Popen([str(ABONENT), "scheduler"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _tick_pids(runtime, after_id=0):
    with runtime.session() as s:
        return [(r.id, r.result.get("pid")) for r in s.scalars(
            select(JobRun).where(JobRun.job_id == "test.tick", JobRun.id > after_id,
                                 JobRun.status == "ok").order_by(JobRun.id))]


def _wait(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_one_leader_and_takeover(runtime, abonent_database, tmp_path):
    first = _scheduler(tmp_path, abonent_database.url)
    second = None
    try:
        _wait(lambda: _tick_pids(runtime))
        second = _scheduler(tmp_path, abonent_database.url)
        time.sleep(4)  # the second scheduler is up and waiting
        ticks = _tick_pids(runtime)
        assert {pid for _, pid in ticks} == {first.pid}  # only the leader fires
        first.send_signal(signal.SIGKILL)
        first.wait()
        last_id = ticks[-1][0]
        taken_over = _wait(lambda: [t for t in _tick_pids(runtime, last_id) if t[1] == second.pid])
        assert taken_over
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


def test_jobs_cli_shows_each_outcome_and_exits_by_it(runtime, abonent_database, tmp_path):
    run = cli_runner(abonent_database.url, tmp_path, PYTHONPATH=_plugin_path(tmp_path, "slotplugin"),
                     ABONENT_TEST_SLOT="2026-01-01T03:00:00+00:00")
    assert "test.ok: ok: all 3 done" in run("jobs", "run", "test.ok").stderr
    failed = run("jobs", "run", "test.failed", ok=False)
    assert failed.returncode == 1 and "test.failed: failed: 0 of 3 done" in failed.stderr
    partial = run("jobs", "run", "test.partial", ok=False)
    assert partial.returncode == 2 and "test.partial: partial: 2 of 3 done" in partial.stderr
    listing = run("jobs").stdout.splitlines()
    status = {line.split()[4]: line.split()[0] for line in listing
              if line[:1].strip() and line.split()[0] != "never"}
    assert status == {"test.ok": "ok", "test.failed": "failed", "test.partial": "partial"}
    assert "    2 of 3 done" in listing


# --- a slot that fell due while no scheduler led --------------------------------------------

def _clear_job_store(runtime) -> None:
    """APScheduler's table is not ours (no migration, not reset between tests)."""
    if inspect(runtime.engine).has_table("apscheduler_jobs"):
        with runtime.engine.begin() as connection:
            connection.execute(text("DELETE FROM apscheduler_jobs"))


def _daily_runs(runtime) -> list[JobRun]:
    with runtime.session() as s:
        return list(s.scalars(select(JobRun).where(JobRun.job_id.in_(("jobs.daily", "test.daily")),
                                                   JobRun.status != "running")))


def _sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(timezone.utc)).total_seconds()))


def _slot_in(seconds: float) -> datetime:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).replace(microsecond=0)


def test_a_slot_missed_while_nobody_led_runs_once_when_one_leads(runtime, jobs):
    _clear_job_store(runtime)
    jobs.slot = _slot_in(2)
    leader = Scheduler(runtime)
    leader.start()
    leader.shutdown()  # the leader is gone before the slot; nobody leads through it
    _sleep_until(jobs.slot + timedelta(seconds=0.5))
    taker = Scheduler(runtime)
    taker.start()
    try:
        (run,) = _wait(lambda: _daily_runs(runtime), timeout=10)
        time.sleep(1)
        assert [r.id for r in _daily_runs(runtime)] == [run.id] and len(jobs.daily_runs) == 1
        assert (run.status, run.trigger, run.result["summary"]) == (
            "ok", "catch-up", "counted the day")
        assert taker.next_runs()["jobs.daily"] == jobs.slot + timedelta(days=1)
    finally:
        taker.shutdown()


@pytest.mark.parametrize("abonent_config", [{"scheduler": {"catch_up_seconds": "1"}}])
def test_a_slot_missed_by_more_than_the_grace_is_skipped(runtime, jobs):
    _clear_job_store(runtime)
    jobs.slot = _slot_in(1)
    leader = Scheduler(runtime)
    leader.start()
    leader.shutdown()
    _sleep_until(jobs.slot + timedelta(seconds=2.5))
    taker = Scheduler(runtime)
    taker.start()
    try:
        time.sleep(1.5)
        assert _daily_runs(runtime) == [] and jobs.daily_runs == []
        assert taker.next_runs()["jobs.daily"] == jobs.slot + timedelta(days=1)
    finally:
        taker.shutdown()


def test_a_job_that_appears_changes_or_goes_is_taken_in_without_a_restart(runtime, jobs):
    _clear_job_store(runtime)
    leader = Scheduler(runtime)
    leader.start()
    try:
        assert "jobs.daily" not in leader.next_runs() and leader.refresh() == ([], [])
        jobs.slot = _slot_in(3600)  # a plugin registers a job (a NAS set to synchronise)
        assert leader.refresh() == (["jobs.daily"], [])
        assert leader.next_runs()["jobs.daily"] == jobs.slot
        jobs.slot += timedelta(minutes=5)  # its time changes
        assert leader.refresh() == (["jobs.daily"], [])
        assert leader.next_runs()["jobs.daily"] == jobs.slot
        jobs.slot = None  # and it goes
        assert leader.refresh() == ([], ["jobs.daily"])
        assert "jobs.daily" not in leader.next_runs()
    finally:
        leader.shutdown()


def test_a_catch_up_grace_of_zero_is_refused_by_name(tmp_path):
    """APScheduler's misfire grace is the same number: 0 would skip every run a moment
    late, that is every run."""
    with pytest.raises(ConfigError) as error:
        validate_settings({"var_dir": str(tmp_path), "scheduler": {"catch_up_seconds": "0"}},
                          "test")
    assert error.value.key == "scheduler.catch_up_seconds"


def test_a_new_leader_fails_the_scheduled_runs_its_predecessor_left_running(runtime):
    _clear_job_store(runtime)
    with runtime.session() as s:
        s.add_all([JobRun(job_id="jobs.good", status="running", trigger="schedule"),
                   JobRun(job_id="jobs.partial", status="running", trigger="manual")])
    taker = Scheduler(runtime)
    taker.start()
    taker.shutdown()
    with runtime.session() as s:
        runs = last_runs(s)
    assert (runs["jobs.good"].status, runs["jobs.good"].error) == (
        "failed", "interrupted: the scheduler running it stopped before it ended")
    assert runs["jobs.partial"].status == "running"  # by hand: maybe still going elsewhere


class _HeldLead:
    """Competes for the schedulers' advisory lock from the test (it waits in line): when
    the leader dies the test, not the follower, leads until `release`, so the slot surely
    falls due while no scheduler leads, however soon the follower polls."""

    def __init__(self, runtime):
        self.connection = runtime.engine.connect()
        self.held = threading.Event()
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.thread.start()

    def _wait(self):
        self.connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
        self.held.set()

    def release(self):
        """Ends the lock's session (a pooled connection would keep the lock)."""
        self.thread.join(timeout=5)
        if not self.connection.closed:
            self.connection.invalidate()
            self.connection.close()


def _stored_next_run(runtime, job_id: str):
    if not inspect(runtime.engine).has_table("apscheduler_jobs"):
        return None
    with runtime.engine.connect() as connection:
        return connection.execute(text("SELECT next_run_time FROM apscheduler_jobs WHERE id = :id"),
                                  {"id": job_id}).scalar()


@pytest.mark.postgresql_only
def test_leader_killed_just_before_a_daily_slot_the_new_leader_runs_it_once(
        runtime, abonent_database, tmp_path):
    _clear_job_store(runtime)
    slot = _slot_in(12)  # time for both processes to start on a busy machine
    env = {"ABONENT_TEST_SLOT": slot.isoformat()}
    leader = _scheduler(tmp_path, abonent_database.url, "slotplugin", **env)
    follower = held = None
    try:
        _wait(lambda: _stored_next_run(runtime, "test.daily"), timeout=10)
        follower = _scheduler(tmp_path, abonent_database.url, "slotplugin", **env)
        held = _HeldLead(runtime)
        _sleep_until(slot - timedelta(seconds=1))
        assert leader.poll() is None and follower.poll() is None
        leader.send_signal(signal.SIGKILL)
        leader.wait()
        assert held.held.wait(5)
        _sleep_until(slot + timedelta(seconds=0.5))
        held.release()
        (run,) = _wait(lambda: _daily_runs(runtime), timeout=10)
        time.sleep(1.5)
        assert [r.id for r in _daily_runs(runtime)] == [run.id]
        assert (run.status, run.trigger, run.result["pid"]) == ("ok", "catch-up", follower.pid)
    finally:
        if held is not None:
            held.release()
        for process in (leader, follower):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
