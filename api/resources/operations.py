"""Operations: the event outbox (deliveries listed, counted per plugin, retried) and the
scheduled jobs (listed with their last runs, their runs' history, run now), with the
permissions, functions and audit entries of the admin's Outbox and Jobs pages.

A job run through the API runs in the request, not in the background as the admin's
"run now" does: the caller gets the run as it was recorded, so a failed run answers
with status "failed" and its error, never a bare "ok".
"""
from __future__ import annotations

from flask import abort, current_app
from sqlalchemy import and_
from sqlalchemy.orm import joinedload

from api.blueprint import ApiBlueprint, dumped, found, page, select_given, transaction
from api.schemas import page_of
from api.schemas_operations import (DeliveryOut, DeliveryQuery, JobOut, JobRunOut, PluginCounts,
                                    RetryIn, RetryOut, RunQuery)
from core.audit import audit
from core.jobs import MANUAL, job_specs, last_runs, run_job
from core.models import Delivery, JobRun
from plugins import outbox

blp = ApiBlueprint("operations", "The event outbox and the scheduled jobs")


def _runtime():
    return current_app.extensions["abonent"]


@blp.route("/outbox/deliveries", methods=["GET"])
@blp.operation("outbox:view", 422)
@blp.arguments(DeliveryQuery, location="query")
@blp.response(200, page_of(DeliveryOut, "DeliveryPage"))
def list_deliveries(args):
    query = select_given(Delivery, args, "plugin", "account_id").options(
        joinedload(Delivery.event))
    state = args.get("state")
    if state == "failing":
        query = query.where(and_(Delivery.state == "pending", Delivery.last_error.is_not(None)))
    elif state:
        query = query.where(Delivery.state == state)
    with transaction() as session:
        return page(session, query, Delivery.id, args, DeliveryOut())


@blp.route("/outbox/counts", methods=["GET"])
@blp.operation("outbox:view")
@blp.response(200, PluginCounts(many=True))
def get_counts():
    """Per plugin: deliveries pending, failing, dead and done, the age of the oldest
    pending one and the recent delivery rate (the Outbox page's summary)."""
    with transaction() as session:
        totals = {**outbox.counts(session), **outbox.flow(session)}
    plugins = sorted({plugin for plugin, _ in totals} | set(outbox.Outbox(_runtime()).plugins))
    return [{"plugin": plugin, **{name: totals.get((plugin, name), 0) for name in (
        "pending", "failing", "dead", "done", "oldest_seconds", "per_minute")}}
        for plugin in plugins]


@blp.route("/outbox/retry", methods=["POST"])
@blp.operation("outbox:retry", 422)
@blp.arguments(RetryIn)
@blp.response(200, RetryOut)
def post_retry(data):
    """Queue deliveries again now with a fresh attempt count: the given ones, or every
    dead (or failing) one, of a plugin if given."""
    ids = data.get("delivery_ids")
    state = "pending" if data["state"] == "failing" else "dead"
    with transaction(write=True) as session:
        queued = outbox.retry(session, ids, plugin=data.get("plugin"), state=state)
        details = {"queued": queued, "plugin": data.get("plugin")}
        details.update({"ids": ids} if ids is not None else {"state": state})
        audit(session, "retry", "delivery", ids[0] if ids and len(ids) == 1 else None, details)
    return {"queued": queued}


def _job_out(job_id: str, plugin: str, spec, run: JobRun | None) -> dict:
    return {"id": job_id, "plugin": plugin, "description": spec.description,
            "cron": spec.cron, "last_run": run}


@blp.route("/jobs", methods=["GET"])
@blp.operation("jobs:view")
@blp.response(200, JobOut(many=True))
def list_jobs():
    specs = job_specs(_runtime())
    with transaction() as session:
        runs = last_runs(session)
        return dumped(JobOut(many=True), [_job_out(job_id, plugin, spec, runs.get(job_id))
                                          for job_id, (plugin, spec) in sorted(specs.items())])


@blp.route("/jobs/runs", methods=["GET"])
@blp.operation("jobs:view", 422)
@blp.arguments(RunQuery, location="query")
@blp.response(200, page_of(JobRunOut, "JobRunPage"))
def list_runs(args):
    query = select_given(JobRun, args, "job_id", "status")
    with transaction() as session:
        return page(session, query, JobRun.id, args, JobRunOut())


@blp.route("/jobs/runs/<int:run_id>", methods=["GET"])
@blp.operation("jobs:view", 404)
@blp.response(200, JobRunOut)
def get_run(run_id):
    with transaction() as session:
        return dumped(JobRunOut(), found(session, JobRun, run_id, "job run"))


@blp.route("/jobs/<job_id>/run", methods=["POST"])
@blp.operation("jobs:run", 404, 409)
@blp.response(201, JobRunOut, description="the run as recorded: ok, partial or failed")
def post_run(job_id):
    """Run the job now and answer its recorded run (the request waits for it)."""
    runtime = _runtime()
    if job_id not in job_specs(runtime):
        abort(404, description=f"no job {job_id}")
    if not MANUAL.start(job_id):
        abort(409, description=f"{job_id} is already running")
    try:
        with transaction(write=True) as session:
            audit(session, "run", "job", job_id, {"trigger": "manual"})
        run_id = run_job(runtime, job_id, trigger="manual")["run_id"]
    finally:
        MANUAL.done(job_id)
    with transaction() as session:
        return dumped(JobRunOut(), session.get(JobRun, run_id), 201)
