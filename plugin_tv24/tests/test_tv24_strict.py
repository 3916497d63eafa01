"""The emulator refuses every request the provider's OpenAPI document does not allow, and
everything the plugin sends is allowed.

The rules come from the document itself (plugin_tv24.emulator.strict): declared query
parameters and their schemas, the values an operation's description lists for a
parameter, the request body's schema. openapi-core alone let the plugin ask for
``subscriptions=current,planned``: the document lists the values in prose.
"""
from __future__ import annotations

import pytest
import requests

from core.blocking import lift_block, set_block
from plugin_tv24.emulator.strict import StrictRequests, described_values
from plugin_tv24.reconcile import reconcile
from plugin_tv24.spec import load_spec


@pytest.fixture
def api(tv24_emulator):
    session = requests.Session()

    def call(method: str, path: str, params=(), **kwargs) -> requests.Response:
        query = [("token", tv24_emulator.token), *(params.items() if isinstance(params, dict) else params)]
        return session.request(method, tv24_emulator.url + path, params=query, timeout=5, **kwargs)

    yield call
    session.close()


def refused(response: requests.Response, field: str) -> list[str]:
    """The platform's 400 envelope blaming `field`; its messages."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status_code"] == 400 and body["error"]["message"]
    return body["detail"][field]


def test_the_listed_values_are_read_from_the_document():
    document = load_spec()
    users = document["paths"]["/v2/users"]["get"]["description"]
    subscriptions = document["paths"]["/v2/users/{user_id}/subscriptions"]["get"]["description"]
    assert described_values(users, "subscriptions") == (
        "all", "current", "active", "paused", "planned", "period")
    assert described_values(subscriptions, "types") == ("active", "current", "paused", "planned")
    assert described_values(subscriptions, "packet_ids") == ()  # prose, no list of values


@pytest.mark.parametrize("value", ["current,planned", "current, planned", "expired", ""])
def test_subscriptions_takes_exactly_one_listed_value(api, value):
    assert refused(api("GET", "/v2/users", {"subscriptions": value}), "subscriptions")


def test_each_listed_value_alone_is_accepted(api):
    for value in ("all", "current", "active", "paused", "planned", "period"):
        assert api("GET", "/v2/users", {"subscriptions": value}).status_code == 200, value


def test_undeclared_repeated_and_malformed_parameters_are_refused(api, tv24_emulator):
    assert refused(api("GET", "/v2/users", {"types": "current"}), "types")  # another operation's
    assert refused(api("GET", "/v2/packets", {"page": "2"}), "page")
    assert refused(api("GET", "/v2/users", [("phone", "7900"), ("phone", "7901")]), "phone")
    assert refused(api("GET", "/v2/users", {"limit": "many"}), "limit")
    assert refused(api("GET", "/v2/users", {"limit": "101"}), "limit")
    assert refused(api("GET", "/v2/users", {"date_from": "yesterday"}), "date_from")
    assert refused(api("GET", "/v2/users/abc/subscriptions"), "user_id")
    assert refused(api("DELETE", "/v2/users/1/pauses/delete", {"force": "1"}), "force")
    assert tv24_emulator.state.users == {}


def test_body_fields_of_the_wrong_type_or_read_only_are_refused(api, tv24_emulator):
    user = api("POST", "/v2/users", json={"username": "79001234567", "phone": "79001234567"}).json()
    assert refused(api("POST", "/v2/users", json={"username": "u", "phone": "79001234568",
                                                  "id": 5}), "id")
    assert refused(api("PATCH", f"/v2/users/{user['id']}", json={"is_active": "no"}),
                   "is_active") == ["Must be a valid boolean."]
    assert refused(api("POST", f"/v2/users/{user['id']}/subscriptions",
                       json=[{"packet_id": "2"}]), "0.packet_id") == ["A valid integer is required."]
    assert refused(api("POST", f"/v2/users/{user['id']}/subscriptions",
                       json=[{"packet_id": 2, "end_at": "soon"}]), "0.end_at")
    assert tv24_emulator.state.subscriptions == {}


def test_every_request_the_plugin_sends_is_allowed(tv):
    """Deliveries, a tariff change, blocks, the trash and a full reconciliation: the
    `tv` fixture checks each request against the strict rules at the end."""
    account = tv.account("79001234567", tv.tariff(device_limit=3))
    other = tv.account("79001234568")
    tv.drain()
    with tv.runtime.session() as s:
        set_block(s, account.id, "admin")
    tv.drain()
    with tv.runtime.session() as s:
        lift_block(s, account.id, "admin")
    tv.drain()
    report = reconcile(tv.runtime.context("tv24"), fix=True)
    assert report.errors == [] and report.checked == 2
    assert reconcile(tv.runtime.context("tv24"), other.id).errors == []
    assert all(r.status < 400 for r in tv.calls()), [(r.method, r.path, r.query, r.status)
                                                     for r in tv.calls() if r.status >= 400]


def test_the_strict_rules_cover_every_operation_the_client_uses():
    strict = StrictRequests()
    for method, path in [("GET", "/v2/users"), ("POST", "/v2/users"), ("GET", "/v2/users/1"),
                         ("PATCH", "/v2/users/1"), ("DELETE", "/v2/users/1"),
                         ("GET", "/v2/packets"), ("GET", "/v2/users/1/subscriptions"),
                         ("POST", "/v2/users/1/subscriptions"),
                         ("PATCH", "/v2/users/1/subscriptions/5"),
                         ("DELETE", "/v2/users/1/subscriptions/5"),
                         ("POST", "/v2/users/1/subscriptions/5/pauses"),
                         ("DELETE", "/v2/users/1/subscriptions/5/pauses/9"),
                         ("POST", "/v2/users/1/pauses"), ("DELETE", "/v2/users/1/pauses/delete")]:
        assert strict.operation(method, path) is not None, (method, path)
