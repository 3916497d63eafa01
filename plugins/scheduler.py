"""Scheduled jobs: APScheduler with its SQLAlchemy job store, one leader at a time.

Jobs are what the `abonent_jobs` hook returns (the core's own — the billing day, the CDR
spool, the monthly invoices — are registered the same way by the built-in plugin). Every
run, scheduled or by hand, is recorded by core.jobs.run_job with its outcome, so the
admin and `abonent jobs` can say what happened last; this module decides when runs happen.

Only one scheduler fires jobs: on PostgreSQL the leader holds an advisory lock on a
connection of its own (a second scheduler waits, and takes over when the first dies and
its connection closes); on SQLite, where everything runs on one machine, a lock file
under var/ does the same.
"""
from __future__ import annotations

import fcntl
import logging
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import text

from core.db import Reconnect, unavailable
from core.jobs import fail_interrupted, job_specs, run_job
from core.runtime import Runtime

log = logging.getLogger("abonent.scheduler")
LOCK_KEY = 0x61626F6E  # "abon": the advisory lock every scheduler competes for


# APScheduler stores jobs by reference and pickles their arguments, so the scheduled
# callable is this module-level function and the runtime (and the process's stop event,
# set by run_as_leader) are looked up, not stored.
_current: dict[str, Any] = {}
#: jobs whose next run is a slot missed while no scheduler led (see Scheduler.start)
_catching_up: set[str] = set()


#: how the runs this module starts are recorded: on time, or a slot caught up
SCHEDULED = ("schedule", "catch-up")


def _scheduled(job_id: str) -> None:
    trigger = "catch-up" if job_id in _catching_up else "schedule"
    _catching_up.discard(job_id)
    runtime, stop = _current["runtime"], _current.get("stop") or threading.Event()
    reconnect = Reconnect(log, f"job {job_id}")
    while True:
        try:
            run_job(runtime, job_id, trigger=trigger)
            return
        except Exception as exc:
            # The database went away under the run, so it could not even be recorded:
            # run the slot again once it is back. The slot has left the job store (no
            # other scheduler would run it), jobs are safe to run twice, and the next
            # leader marks the cut-short run interrupted.
            if not unavailable(exc):
                raise
            if stop.wait(reconnect.failed(exc)):
                log.warning("job %s: stopping before the database was back; this slot "
                            "was not run (`abonent jobs run %s` runs it)", job_id, job_id)
                return


class Leadership:
    """Held by the one scheduler allowed to fire jobs; `acquire` waits for it, and waits
    out a database that is away (down, restarting) instead of failing."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._connection = None
        self._file = None

    def acquire(self, stop: threading.Event, poll: float = 2.0) -> bool:
        reconnect = Reconnect(log, "scheduler")
        while not stop.is_set():
            try:
                if self._try():
                    reconnect.succeeded()
                    return True
            except Exception as exc:
                if not unavailable(exc):
                    raise
                stop.wait(reconnect.failed(exc))
                continue
            reconnect.succeeded()
            stop.wait(poll)
        return False

    def _try(self) -> bool:
        if self.runtime.engine.dialect.name == "postgresql":
            connection = self.runtime.engine.connect()
            try:
                locked = connection.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                            {"k": LOCK_KEY}).scalar()
                connection.commit()
            except BaseException:
                connection.close()
                raise
            if locked:
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
        """Give the lead up. The lock's connection is discarded, not pooled: a session lock
        left on a pooled connection would keep every other scheduler waiting."""
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:
                pass
            self._connection = None
        if self._file is not None:
            self._file.close()
            self._file = None


class _LeaderScheduler(BackgroundScheduler):
    """APScheduler's background scheduler, made safe for losing the lead.

    Its loop thread may already be inside a pass over the job store when the leader shuts
    it down; that pass would then submit due jobs to stopped executors (a traceback in the
    log) and advance their next run in the shared store, so the next leader would not see
    the slot. Each pass therefore holds the job stores' lock (re-entrant; `shutdown` takes
    it after marking the scheduler stopped) and does nothing once stopped. A pass that
    meets a database that is away says so in one line and tries again later, instead of
    ending the loop thread.
    """

    def _process_jobs(self):
        with self._jobstores_lock:
            if self.state == STATE_STOPPED:
                return None
            try:
                return super()._process_jobs()
            except Exception as exc:
                if not unavailable(exc):
                    raise
                log.warning("scheduler: the job store is unavailable (%s); trying again in "
                            "%s s", type(exc).__name__, self.jobstore_retry_interval)
                return self.jobstore_retry_interval


class Scheduler:
    """APScheduler configured from the registered jobs, in the operator's time zone.

    Each job's next run lives in the shared job store, so a slot that fell due while no
    scheduler led (the leader died just before it; every scheduler was down) is still
    there when one leads again: `start` keeps that due time instead of recomputing the
    next run from now, and APScheduler runs the slot once (coalesced) if it is at most
    `[scheduler] catch_up_seconds` late. Such a run is recorded with trigger "catch-up".
    """

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.timezone = runtime.settings.timezone
        self.grace = runtime.settings.section("scheduler")["catch_up_seconds"]
        self._scheduler = _LeaderScheduler(
            timezone=self.timezone,
            jobstores={"default": SQLAlchemyJobStore(engine=runtime.engine)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": self.grace})
        self._scheduler.add_listener(lambda event: _catching_up.discard(event.job_id),
                                     EVENT_JOB_MISSED)
        #: job id -> its cron fields, as scheduled (what `refresh` compares against)
        self._crons: dict[str, dict[str, Any]] = {}

    def start(self) -> list[str]:
        _current["runtime"] = self.runtime
        _catching_up.clear()
        interrupted = fail_interrupted(self.runtime, SCHEDULED)
        if interrupted:
            log.warning("%s scheduled run(s) left running by the previous leader marked "
                        "failed (interrupted)", interrupted)
        specs = job_specs(self.runtime)
        self._scheduler.start(paused=True)
        stored = {job.id: job.next_run_time for job in self._scheduler.get_jobs()}
        for job_id in stored.keys() - specs.keys():
            self._scheduler.remove_job(job_id)
        at = datetime.now(timezone.utc)
        for job_id, (_, spec) in sorted(specs.items()):
            trigger = CronTrigger(timezone=self.timezone, **spec.cron)
            due = stored.get(job_id)
            kept = {}
            if due is not None and due <= at:
                kept["next_run_time"] = due  # the missed slot, run (or skipped) on resume
                self._note_missed(job_id, _missed_slot(trigger, due, at), at)
            self._scheduler.add_job(_scheduled, trigger, args=[job_id], id=job_id,
                                    name=spec.description or job_id, replace_existing=True,
                                    **kept)
        self._scheduler.resume()
        self._crons = {job_id: spec.cron for job_id, (_, spec) in specs.items()}
        return sorted(specs)

    def refresh(self) -> tuple[list[str], list[str]]:
        """Take in what the jobs hook registers now: a job that appeared since the start
        (a NAS switched to "synchronise", a new agent) is scheduled from its next slot, a
        job that is gone is removed, a job whose times changed is rescheduled. The leader
        calls this every `[scheduler] refresh_seconds`, so none of it waits for a restart.
        Returns (added or changed, removed)."""
        specs = job_specs(self.runtime)
        removed = sorted(self._crons.keys() - specs.keys())
        for job_id in removed:
            self._scheduler.remove_job(job_id)
            del self._crons[job_id]
        changed = sorted(job_id for job_id, (_, spec) in specs.items()
                         if self._crons.get(job_id) != spec.cron)
        for job_id in changed:
            spec = specs[job_id][1]
            self._scheduler.add_job(_scheduled, CronTrigger(timezone=self.timezone, **spec.cron),
                                    args=[job_id], id=job_id, name=spec.description or job_id,
                                    replace_existing=True)
            self._crons[job_id] = spec.cron
        if changed or removed:
            log.info("scheduler: jobs scheduled now: %s; removed: %s",
                     ", ".join(changed) or "none", ", ".join(removed) or "none")
        return changed, removed

    def _note_missed(self, job_id: str, slot: datetime, at: datetime) -> None:
        late = (at - slot).total_seconds()
        if late <= self.grace:
            _catching_up.add(job_id)
            log.warning("%s: catching up the slot of %s that fell due while no scheduler "
                        "led (%.1f s late)", job_id, slot.isoformat(), late)
        else:
            log.warning("%s: the slot of %s fell due while no scheduler led and is skipped: "
                        "%.0f s late, more than [scheduler] catch_up_seconds = %s",
                        job_id, slot.isoformat(), late, self.grace)

    def next_runs(self) -> dict[str, Any]:
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)


def _missed_slot(trigger: CronTrigger, due: datetime, at: datetime) -> datetime:
    """The slot a coalesced run of a job due since `due` stands for: its latest fire time
    up to `at` (what APScheduler runs, and judges late against the grace)."""
    slot = due
    while (following := trigger.get_next_fire_time(slot, at)) is not None and following <= at:
        slot = following
    return slot


def run_as_leader(runtime: Runtime, stop: threading.Event, check_every: float = 1.0) -> None:
    """Wait to lead, run the scheduler while leading, compete again if leadership is lost.

    A database restart ends the lock with its connection: the leader notices within
    `check_every` seconds, stops its jobs and competes again, waiting with back-off until
    the database is back; the process itself never ends for it. The short check keeps
    the moment two schedulers could both believe they lead shorter than a restart."""
    leadership = Leadership(runtime)
    _current["stop"] = stop
    while not stop.is_set():
        if not leadership.acquire(stop):
            return
        scheduler = Scheduler(runtime)
        refresh_every = runtime.settings.section("scheduler")["refresh_seconds"]
        try:
            jobs = scheduler.start()
            log.info("scheduler is the leader; jobs: %s", ", ".join(jobs))
            refreshed = time.monotonic()
            while not stop.wait(check_every):
                if not leadership.held():
                    log.warning("scheduler lost its lock (the database stopped answering on "
                                "its connection); stopping jobs and competing again")
                    break
                if time.monotonic() - refreshed >= refresh_every:
                    scheduler.refresh()
                    refreshed = time.monotonic()
        except Exception as exc:
            if not unavailable(exc):
                raise
            log.warning("scheduler lost the database while taking the lead; "
                        "stopping jobs and competing again")
        finally:
            scheduler.shutdown()
            leadership.release()
