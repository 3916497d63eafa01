"""/api/v1/webhooks, served by the built-in webhooks plugin through abonent_api_resources:
an integrator makes an endpoint (its secret in that answer only), changes, reads its
attempts and removes it; every answer checked against the OpenAPI document."""
from __future__ import annotations

import pytest

from webhook_receiver import receivers  # noqa: F401 (a fixture)

pytestmark = pytest.mark.sqlite_only


def test_an_integrator_keeps_its_endpoint_through_the_api(api, factory, drain,
                                                          receivers):
    receiver = receivers()
    admin = api("administrator")
    made = admin.call("POST", "/api/v1/webhooks", {"url": receiver.url, "events": ["block_set"]})
    assert made.status_code == 201
    secret, endpoint_id = made.json["secret"], made.json["id"]
    assert secret.startswith("whsec_") and made.json["events"] == ["block_set"]
    receiver.secret = secret
    account = factory.account()
    assert admin.call("POST", f"/api/v1/accounts/{account.id}/blocks",
                      {"source": "admin"}).status_code == 201
    drain()
    [attempt] = admin.call("GET", f"/api/v1/webhooks/{endpoint_id}/attempts").json["items"]
    assert (attempt["event_name"], attempt["status"], attempt["response"]) == (
        "block_set", 200, "ok")
    assert receiver.received[0].signed

    listed = admin.call("GET", "/api/v1/webhooks").json["items"]
    assert [(e["id"], e["url"]) for e in listed] == [(endpoint_id, receiver.url)]
    assert "secret" not in listed[0] and secret.startswith(listed[0]["secret_start"][:-1])

    refused = admin.call("PATCH", f"/api/v1/webhooks/{endpoint_id}", {"events": ["nope"]})
    assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "events"
    changed = admin.call("PATCH", f"/api/v1/webhooks/{endpoint_id}",
                         {"enabled": False, "disabled_reason": "moving"})
    assert (changed.json["enabled"], changed.json["disabled_reason"]) == (False, "moving")
    rotated = admin.call("POST", f"/api/v1/webhooks/{endpoint_id}/rotate").json["secret"]
    assert rotated != secret

    assert admin.call("GET", f"/api/v1/webhooks/{endpoint_id}/attempts?outcome=failed"
                      ).json == {"items": [], "next": None}
    assert api("read-only").call("POST", "/api/v1/webhooks", {"url": "http://x", "events": [
        "*"]}).status_code == 403
    assert admin.call("DELETE", f"/api/v1/webhooks/{endpoint_id}").status_code == 204
    assert admin.call("GET", f"/api/v1/webhooks/{endpoint_id}").status_code == 404
