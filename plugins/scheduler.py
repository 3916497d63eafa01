"""Scheduled jobs: APScheduler with its SQLAlchemy job store, one leader at a time.

Jobs are what the `abonent_jobs` hook returns (the core's own — the billing day, the CDR
spool, the monthly invoices — are registered the same way by the built-in plugin). Every
run, scheduled or by hand, is recorded in `job_run` with its result or error, so the
admin and `abonent jobs` can say what happened last.

Only one scheduler fires jobs: on PostgreSQL the leader holds an advisory lock on a
connection of its own (a second scheduler waits, and takes over when the first dies and
its connection closes); on SQLite, where everything runs on one machine, a lock file
under var/ does the same.
"""
from __future__ import annotations

import fcntl
import logging
import threading
import traceback
from pathlib import Path
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select, text

from core.clock import now
from core.contributions import JobSpec
from core.db import jsonable
from core.errors import NotFound, PluginError
from core.models import JobRun
from core.runtime import Runtime

log = logging.getLogger("abonent.scheduler")
LOCK_KEY = 0x61626F6E  # "abon": the advisory lock every scheduler competes for


def job_specs(runtime: Runtime) -> dict[str, tuple[str, JobSpec]]:
    """Every registered job by id, with the plugin that registered it."""
    found: dict[str, tuple[str, JobSpec]] = {}
    for impl in runtime.pm.impls("abonent_jobs"):
        for spec in impl.function(runtime=runtime) or []:
            if spec.id in found:
                raise PluginError(f"job {spec.id!r} is registered by both "
                                  f"{found[spec.id][0]!r} and {impl.plugin_name!r}")
            found[spec.id] = (impl.plugin_name, spec)
    return found


def run_job(runtime: Runtime, job_id: str, trigger: str = "manual") -> dict[str, Any]:
    """Run a job now and record the run; returns {"status", "result", "error", "run_id"}.

    A job's exception fails its run (recorded with the error), never the caller."""
    specs = job_specs(runtime)
    if job_id not in specs:
        raise NotFound("job_id", f"no job {job_id!r} (known: {', '.join(sorted(specs))})")
    plugin, spec = specs[job_id]
    with runtime.session(actor="scheduler") as session:
        run = JobRun(job_id=job_id, started_at=now(), status="running", trigger=trigger)
        session.add(run)
    status, result, error = "ok", {}, None
    try:
        result = jsonable(spec.func(runtime.context(plugin)) or {})
    except Exception as exc:  # recorded as the run's error, shown in the admin
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        log.error("job %s failed:\n%s", job_id, traceback.format_exc())
    with runtime.session(actor="scheduler") as session:
        stored = session.get(JobRun, run.id)
        stored.status, stored.result, stored.error = status, result, error
        stored.finished_at = now()
    return {"run_id": run.id, "status": status, "result": result, "error": error}


def last_runs(session) -> dict[str, JobRun]:
    """The latest run of each job."""
    latest = (select(JobRun.job_id, func.max(JobRun.id).label("id"))
              .group_by(JobRun.job_id).subquery())
    rows = session.scalars(select(JobRun).join(latest, latest.c.id == JobRun.id))
    return {run.job_id: run for run in rows}


# APScheduler stores jobs by reference and pickles their arguments, so the scheduled
# callable is this module-level function and the runtime is looked up, not stored.
_current: dict[str, Runtime] = {}


def _scheduled(job_id: str) -> None:
    run_job(_current["runtime"], job_id, trigger="schedule")


class Leadership:
    """Held by the one scheduler allowed to fire jobs; `acquire` waits for it."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._connection = None
        self._file = None

    def acquire(self, stop: threading.Event, poll: float = 2.0) -> bool:
        while not stop.is_set():
            if self._try():
                return True
            stop.wait(poll)
        return False

    def _try(self) -> bool:
        if self.runtime.engine.dialect.name == "postgresql":
            connection = self.runtime.engine.connect()
            if connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
                connection.commit()
                self._connection = connection
                return True
            connection.close()
            return False
        path = Path(self.runtime.settings.var_dir) / "scheduler.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def held(self) -> bool:
        """Still the leader? (On PostgreSQL: the lock's connection still answers.)"""
        if self._connection is None:
            return self._file is not None
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
            return True
        except Exception:
            return False

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                pass
            self._connection = None
        if self._file is not None:
            self._file.close()
            self._file = None


class Scheduler:
    """APScheduler configured from the registered jobs, in the operator's time zone."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.timezone = runtime.settings.timezone
        self._scheduler = BackgroundScheduler(
            timezone=self.timezone,
            jobstores={"default": SQLAlchemyJobStore(engine=runtime.engine)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})

    def start(self) -> list[str]:
        _current["runtime"] = self.runtime
        specs = job_specs(self.runtime)
        self._scheduler.start(paused=True)
        for job in self._scheduler.get_jobs():
            if job.id not in specs:
                job.remove()
        for job_id, (_, spec) in sorted(specs.items()):
            self._scheduler.add_job(_scheduled, CronTrigger(timezone=self.timezone, **spec.cron),
                                    args=[job_id], id=job_id, name=spec.description or job_id,
                                    replace_existing=True)
        self._scheduler.resume()
        return sorted(specs)

    def next_runs(self) -> dict[str, Any]:
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)


def run_as_leader(runtime: Runtime, stop: threading.Event, check_every: float = 5.0) -> None:
    """Wait to lead, run the scheduler while leading, compete again if leadership is lost."""
    leadership = Leadership(runtime)
    while not stop.is_set():
        if not leadership.acquire(stop):
            return
        scheduler = Scheduler(runtime)
        jobs = scheduler.start()
        log.info("scheduler is the leader; jobs: %s", ", ".join(jobs))
        try:
            while not stop.wait(check_every):
                if not leadership.held():
                    log.warning("scheduler lost its lock; stopping jobs and competing again")
                    break
        finally:
            scheduler.shutdown()
            leadership.release()
