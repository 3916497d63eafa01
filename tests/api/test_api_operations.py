"""The outbox and the jobs through the REST API: dead deliveries listed, counted and
retried until the plugin has them; a job run now answers its recorded outcome (a failed
run says failed, with its error); the audit log names the key."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from core.contributions import JobSpec
from core.jobs import MANUAL
from core.models import AuditEntry, Delivery
from plugins.testing import RecordingPlugin

pytestmark = pytest.mark.sqlite_only


class Jobs:
    def abonent_jobs(self, runtime):
        def broken(ctx):
            raise RuntimeError("the platform is down")
        return [JobSpec("api.good", lambda ctx: {"summary": "counted 3"}, {"hour": 1}, "works"),
                JobSpec("api.broken", broken, {"hour": 2}, "fails")]


@pytest.fixture
def recorder():
    return RecordingPlugin()


@pytest.fixture
def abonent_plugins(recorder):
    return [("recorder", recorder), ("jobs", Jobs())]


def test_dead_deliveries_are_retried(api, factory, runtime, drain, recorder):
    account = factory.account()
    drain()
    with runtime.session() as session:  # as if every attempt had failed
        session.execute(update(Delivery).where(Delivery.plugin == "recorder").values(
            state="dead", last_error="gave up"))
    recorder.events.clear()
    client = api("manager")
    dead = client.call("GET", "/api/v1/outbox/deliveries?state=dead&plugin=recorder").json
    assert dead["items"] and {d["account_id"] for d in dead["items"]} == {account.id}
    counts = {c["plugin"]: c for c in client.call("GET", "/api/v1/outbox/counts").json}
    assert counts["recorder"]["dead"] == len(dead["items"])

    assert _field(client.call("POST", "/api/v1/outbox/retry", {"state": "done"})) == "state"
    assert api("read-only").call("POST", "/api/v1/outbox/retry", {}).status_code == 403
    retried = client.call("POST", "/api/v1/outbox/retry", {"plugin": "recorder"})
    assert retried.json == {"queued": len(dead["items"])}
    drain()
    assert [e.id for e in recorder.events] == sorted(d["event_id"] for d in dead["items"])
    with runtime.session() as session:
        assert session.scalars(select(AuditEntry.actor).where(
            AuditEntry.action == "retry")).all() == [f"api:{client.name}"]


def _field(response) -> str | None:
    assert response.status_code == 422
    return response.json["errors"][0]["field"]


def test_a_job_run_answers_its_outcome(api):
    client = api("administrator")
    failed = client.call("POST", "/api/v1/jobs/api.broken/run")
    assert failed.status_code == 201
    assert (failed.json["status"], failed.json["error"]) == (
        "failed", "RuntimeError: the platform is down")
    good = client.call("POST", "/api/v1/jobs/api.good/run").json
    assert (good["status"], good["summary"]) == ("ok", "counted 3")
    assert client.call("POST", "/api/v1/jobs/api.nothing/run").status_code == 404
    assert api("manager").call("POST", "/api/v1/jobs/api.good/run").status_code == 403

    jobs = {job["id"]: job for job in client.call("GET", "/api/v1/jobs").json}
    assert jobs["api.broken"]["last_run"]["id"] == failed.json["id"]
    runs = client.call("GET", "/api/v1/jobs/runs?job_id=api.broken&status=failed").json
    assert [run["id"] for run in runs["items"]] == [failed.json["id"]]
    assert _field(client.call("GET", "/api/v1/jobs/runs?status=fine")) == "status"
    assert client.call("GET", f"/api/v1/jobs/runs/{good['id']}").json == good


def test_a_job_the_admin_is_running_by_hand_is_not_run_again_through_the_api(api):
    """One guard for every door of this process: the admin's "run now" holds the job
    (core.jobs.MANUAL, as its thread does while it runs), so the API answers 409."""
    client = api("administrator")
    assert MANUAL.start("api.good")  # what the admin's "run now" takes for its thread
    try:
        busy = client.call("POST", "/api/v1/jobs/api.good/run")
        assert busy.status_code == 409 and "already running" in busy.json["errors"][0]["message"]
    finally:
        MANUAL.done("api.good")
    assert client.call("POST", "/api/v1/jobs/api.good/run").json["status"] == "ok"
