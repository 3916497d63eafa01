"""Recorded runs of the registered jobs: what ran, when, why, and how it ended.

A job is what a plugin's `abonent_jobs` hook returns (`JobSpec`); its function returns a
dict whose "outcome" says how the run went — "ok", "partial" (some of the work failed) or
"failed" (nothing useful was done) — and whose "summary" is one line for a person. A
missing outcome means "ok"; a job that raises has failed. The run's `status` is that
outcome, so the jobs page, the dashboard, `abonent jobs` and exit codes never call a run
"ok" whose own result says otherwise.

These live in the core, not in the scheduler host, because a run record is the core's
(`JobRun`, like `JobSpec`, is a core type) and plugins must reach it without importing
the host: a plugin runs a recorded job with `ctx.run_job(job_id)`. The scheduler
(plugins/scheduler.py) only decides *when* to call `run_job`.
"""
from __future__ import annotations

import logging
import threading
import traceback
from typing import Any

from sqlalchemy import func, select, update

from core.clock import now
from core.contributions import JobSpec
from core.db import jsonable
from core.errors import NotFound, PluginError
from core.models import JobRun

log = logging.getLogger("abonent.jobs")

OK, PARTIAL, FAILED = "ok", "partial", "failed"
OUTCOMES = (OK, PARTIAL, FAILED)


class ManualRuns:
    """The jobs this process is running by hand — the admin's "run now" (in a thread of
    its own) and the API's (in the request) — one at a time per job, whichever door
    asked: each door keeping its own list let the two run one job at once."""

    def __init__(self):
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def start(self, job_id: str) -> bool:
        """Take `job_id`; False when this process is already running it by hand."""
        with self._lock:
            if job_id in self._running:
                return False
            self._running.add(job_id)
            return True

    def done(self, job_id: str) -> None:
        with self._lock:
            self._running.discard(job_id)

    def running(self) -> set[str]:
        with self._lock:
            return set(self._running)


MANUAL = ManualRuns()


def job_outcome(failed: int, done: int) -> str:
    """The outcome of a run that did `done` items well and `failed` items not: ok when
    nothing failed, failed when nothing was done, partial in between."""
    if not failed:
        return OK
    return PARTIAL if done else FAILED


def job_specs(runtime) -> dict[str, tuple[str, JobSpec]]:
    """Every registered job by id, with the plugin that registered it."""
    found: dict[str, tuple[str, JobSpec]] = {}
    for impl in runtime.pm.impls("abonent_jobs"):
        for spec in impl.function(runtime=runtime) or []:
            if spec.id in found:
                raise PluginError(f"job {spec.id!r} is registered by both "
                                  f"{found[spec.id][0]!r} and {impl.plugin_name!r}")
            found[spec.id] = (impl.plugin_name, spec)
    return found


def _judged(job_id: str, returned: Any) -> tuple[str, dict[str, Any], str | None]:
    """(status, result, error) of what a job function returned.

    An outcome outside OUTCOMES is the job's bug: the run is failed and says why, rather
    than guessing whether the work was done."""
    result = jsonable(returned or {})
    if not isinstance(result, dict):
        result = {"value": result}
    outcome = result.get("outcome", OK)
    if outcome not in OUTCOMES:
        return FAILED, result, (f"job {job_id} returned outcome {outcome!r} "
                                f"(expected one of {', '.join(OUTCOMES)})")
    return outcome, result, None


def run_job(runtime, job_id: str, trigger: str = "manual") -> dict[str, Any]:
    """Run a job now and record the run ("running" until it ends, then its outcome).

    Returns {"run_id", "status", "summary", "result", "error"}. A job's exception fails
    its run (recorded with the error), never the caller."""
    specs = job_specs(runtime)
    if job_id not in specs:
        raise NotFound("job_id", f"no job {job_id!r} (known: {', '.join(sorted(specs))})")
    plugin, spec = specs[job_id]
    with runtime.session(actor="scheduler") as session:
        run = JobRun(job_id=job_id, started_at=now(), status="running", trigger=trigger)
        session.add(run)
    try:
        status, result, error = _judged(job_id, spec.func(runtime.context(plugin)))
        if status != OK:
            log.warning("job %s %s: %s", job_id, status, error or result.get("summary", ""))
    except Exception as exc:  # recorded as the run's error, shown in the admin
        status, result, error = FAILED, {}, f"{type(exc).__name__}: {exc}"
        log.error("job %s failed:\n%s", job_id, traceback.format_exc())
    with runtime.session(actor="scheduler") as session:
        stored = session.get(JobRun, run.id)
        stored.status, stored.result, stored.error = status, result, error
        stored.finished_at = now()
    return {"run_id": run.id, "status": status, "summary": summary_of(stored),
            "result": result, "error": error}


def fail_interrupted(runtime, triggers: tuple[str, ...]) -> int:
    """Fail the runs of these triggers still marked "running"; returns how many.

    The scheduler calls it when it takes the lead: only a leader runs scheduled jobs, so
    a scheduled run still "running" then was cut short with the previous leader (killed,
    its machine gone) and would otherwise say "running" for ever. A run that does end
    after all (a leader that only lost its lock) records its own outcome over this."""
    with runtime.session(actor="scheduler") as session:
        return session.execute(
            update(JobRun).where(JobRun.status == "running", JobRun.trigger.in_(triggers))
            .values(status=FAILED, finished_at=now(),
                    error="interrupted: the scheduler running it stopped before it ended")
        ).rowcount


def summary_of(run: JobRun) -> str:
    """The one line a person reads about a run: its error, else the job's summary."""
    return run.error or str((run.result or {}).get("summary") or "")


def last_runs(session) -> dict[str, JobRun]:
    """The latest run of each job."""
    latest = (select(JobRun.job_id, func.max(JobRun.id).label("id"))
              .group_by(JobRun.job_id).subquery())
    rows = session.scalars(select(JobRun).join(latest, latest.c.id == JobRun.id))
    return {run.job_id: run for run in rows}
