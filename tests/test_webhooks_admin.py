"""Settings → Webhooks and `abonent webhook`: an endpoint made with its secret shown once,
a test event sent to a real receiver (signed), its attempt in the log; refusals named."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from admin.cli import cli
from core.models import AuditEntry
from webhook_receiver import receivers  # noqa: F401 (a fixture)

pytestmark = pytest.mark.sqlite_only


def test_the_admin_makes_an_endpoint_and_shows_its_secret_once(admin_client, receivers,
                                                               runtime):
    receiver = receivers()
    admin = admin_client()
    refused = admin.post("/admin/webhooks/create", {"url": "ftp://x", "events": ["block_set"]})
    assert "http:// or https://" in refused.get_data(as_text=True)

    made = admin.post("/admin/webhooks/create", {
        "url": receiver.url, "events": ["block_set", "payment_received"],
        "enabled": "y"}).get_data(as_text=True)
    secret = re.search(r'id="webhook-secret">.*?<code>(whsec_[\w-]+)</code>', made, re.S)[1]
    listed = admin.text("/admin/webhooks/")
    assert receiver.url in listed and secret not in listed and secret[:10] in listed
    receiver.secret = secret

    endpoint_id = re.search(r'data-endpoint="(\d+)"', listed)[1]
    sent = admin.post(f"/admin/webhooks/{endpoint_id}/test", follow_redirects=True)
    assert "answered 200 to the test event" in sent.get_data(as_text=True)
    [test] = receiver.received
    assert test.signed and test.type == "webhook_test"
    log = admin.text(f"/admin/webhooks/attempts?of={endpoint_id}&outcome=ok")
    assert "webhook_test" in log and ">200<" in log
    assert "webhook_test" not in admin.text("/admin/webhooks/attempts?outcome=failed")

    assert admin_client("read-only").post("/admin/webhooks/create", {
        "url": receiver.url, "events": ["*"]}).status_code == 403
    assert 'name="events"' in admin.text(f"/admin/webhooks/{endpoint_id}/edit")
    admin.post(f"/admin/webhooks/{endpoint_id}/update", {
        "url": receiver.url, "events": ["*"], "disabled_reason": "moving"})  # unchecked
    assert "*</td>" in admin.text("/admin/webhooks/") and "no: moving" in admin.text(
        "/admin/webhooks/")
    rotated = admin.post(f"/admin/webhooks/{endpoint_id}/rotate").get_data(as_text=True)
    assert "whsec_" in rotated and secret not in rotated
    admin.post(f"/admin/webhooks/{endpoint_id}/delete")
    assert "No webhook endpoints yet." in admin.text("/admin/webhooks/")
    with runtime.session() as session:
        actions = [e.action for e in session.query(AuditEntry).filter_by(
            object_type="webhook_endpoint").order_by(AuditEntry.id)]
    assert actions == ["create", "update", "rotate_secret", "delete"]


def test_the_command_line(runtime, receivers, settle):
    receiver = receivers()
    settle()
    env = {"ABONENT_DATABASE_URL": runtime.settings.database_url,
           "ABONENT_VAR_DIR": str(runtime.settings.var_dir), "ABONENT_CONFIG": "",
           "ABONENT_PLUGINS__DISABLED": "tv24,wialon,jambox,nas_oss"}
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    bad = run("webhook", "add", receiver.url, "--events", "block_set,nope", code=1)
    assert "events: unknown event 'nope'" in bad
    receiver.secret = run("webhook", "add", receiver.url, "--events", "*").splitlines()[-1]
    assert f"on  {receiver.url}  events: *" in run("webhook", "list")
    assert "answered 200" in run("webhook", "test", "1")
    assert receiver.received[0].signed
    receiver.script(503)
    assert "answered 503: ok" in run("webhook", "test", "1", code=1)
    assert "removed" in run("webhook", "remove", "1")
    assert "no webhook endpoints" in run("webhook", "list")
