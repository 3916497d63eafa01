"""Scheduled jobs: each run recorded with its result or error; one leader at a time, and
a waiting scheduler takes over when the leader dies."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from core import JobSpec, NotFound
from core.models import JobRun
from plugins.scheduler import job_specs, last_runs, run_job
from support import PROCS, fake_distribution

ABONENT = Path(sys.executable).parent / "abonent"


class Jobs:
    def __init__(self):
        self.calls = 0

    def good(self, ctx):
        self.calls += 1
        return {"calls": self.calls, "plugin": ctx.name}

    def bad(self, ctx):
        raise RuntimeError("the platform is down")

    def abonent_jobs(self, runtime):
        return [JobSpec("jobs.good", self.good, {"hour": 1}, "works"),
                JobSpec("jobs.bad", self.bad, {"hour": 2}, "fails")]


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


def test_billing_day_job(runtime, factory):
    factory.account(tariff=factory.tariff(base=[factory.service(price="5.00", method="daily")]))
    outcome = run_job(runtime, "core.billing_day")
    assert outcome["status"] == "ok"
    assert outcome["result"]["charges"]["daily"] == {"count": 1, "amount": "5.00"}


def _scheduler(tmp_path, url):
    site = fake_distribution(tmp_path / "site", "abonent-jobplugin", {"jobplugin": "jobplugin"})
    env = {**os.environ, "ABONENT_DATABASE_URL": url, "ABONENT_VAR_DIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(site), str(PROCS)])}
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
