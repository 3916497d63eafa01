"""The billing's client against the emulator (and, where the emulator cannot misbehave
enough, against a canned HTTP server): results, paging, and how every failure is
classified for the caller."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timedelta, timezone

import pytest

from plugin_tv24.client import (
    PAGE_SIZE,
    Tv24Client,
    Tv24DuplicateUser,
    Tv24Error,
    Tv24Rejected,
    Tv24Unavailable,
)


def add_users(emulator, count: int) -> None:
    for n in range(count):
        phone = f"7901{n:07d}"
        emulator.state.create_user({"username": phone, "phone": phone, "provider_uid": str(n)})


def user_queries(emulator) -> list[dict]:
    return [entry.query for entry in emulator.state.requests if entry.path == "/v2/users"]


# -- users -----------------------------------------------------------------------------------

def test_user_round_trip(tv24_client):
    created = tv24_client.create_user("79001234567", "79001234567", first_name="Иван", last_name="Петров",
                                      provider_uid="1001", is_active=True, device_limit=3)
    assert created["provider_uid"] == "1001" and created["device_limit"] == 3
    assert tv24_client.get_user(created["id"]) == created
    assert tv24_client.find_user(phone="79001234567")["id"] == created["id"]
    assert tv24_client.find_user(provider_uid="1001", username="79001234567")["id"] == created["id"]
    assert tv24_client.find_user(phone="79990000000") is None
    assert tv24_client.patch_user(created["id"], last_name="Сидоров")["last_name"] == "Сидоров"
    assert tv24_client.delete_user(created["id"]) is None
    assert tv24_client.get_user(created["id"])["is_active"] is False


def test_find_user_needs_a_key(tv24_client):
    with pytest.raises(ValueError):
        tv24_client.find_user()


def test_an_empty_email_is_not_sent(tv24_client, tv24_emulator):
    created = tv24_client.create_user("79001234567", "79001234567", email="")
    tv24_client.patch_user(created["id"], email="", first_name="Иван")
    create, patch = (entry.body for entry in tv24_emulator.state.requests)
    assert create == {"username": "79001234567", "phone": "79001234567"}
    assert patch == {"first_name": "Иван"}


@pytest.mark.parametrize("count, expected_offsets", [(0, [0]), (99, [0]), (100, [0, 100]), (230, [0, 100, 200])])
def test_iter_users_pages_until_a_short_page(tv24_client, tv24_emulator, count, expected_offsets):
    add_users(tv24_emulator, count)
    users = list(tv24_client.iter_users())
    assert [user["provider_uid"] for user in users] == [str(n) for n in range(count)]
    queries = user_queries(tv24_emulator)
    assert [int(query["offset"]) for query in queries] == expected_offsets
    assert {query["limit"] for query in queries} == {str(PAGE_SIZE)}


def test_iter_users_passes_filters(tv24_client, tv24_emulator):
    add_users(tv24_emulator, 3)
    user_id = tv24_emulator.state.find_users({"provider_uid": "1"})[0].id
    tv24_client.create_subscriptions(user_id, [{"packet_id": 1, "renew": True}])
    (user,) = tv24_client.iter_users(provider_uid="1", subscriptions="current")
    assert [sub["packet"]["id"] for sub in user["subscriptions"]] == [1]


def test_duplicate_phone_raises_duplicate_user_with_a_readable_reason(tv24_client):
    tv24_client.create_user("79001234567", "79001234567")
    with pytest.raises(Tv24DuplicateUser) as caught:
        tv24_client.create_user("ivan", "79001234567")
    error = caught.value
    assert error.reason == "HTTP 400: phone: User with this phone already exists."
    assert (error.status, error.fields, error.request) == (400, ("phone",), "POST /v2/users")
    assert error.body["detail"] == {"phone": ["User with this phone already exists."]}
    assert isinstance(error, Tv24Rejected)


def test_duplicate_username_is_a_duplicate_too(tv24_client):
    tv24_client.create_user("ivan", "79001234567")
    with pytest.raises(Tv24DuplicateUser) as caught:
        tv24_client.create_user("ivan", "79007654321")
    assert caught.value.fields == ("username",)


def test_invalid_field_is_rejected_not_duplicate(tv24_client):
    with pytest.raises(Tv24Rejected) as caught:
        tv24_client.create_user("ivan", "79001234567", device_limit=500)
    assert type(caught.value) is Tv24Rejected
    assert caught.value.reason == "HTTP 400: device_limit: Ensure this value is less than or equal to 100."


def test_unknown_user_is_rejected_with_404(tv24_client):
    with pytest.raises(Tv24Rejected) as caught:
        tv24_client.get_user(424242)
    assert (caught.value.status, caught.value.reason) == (404, "HTTP 404: User not found.")
    assert str(caught.value) == "GET /v2/users/424242: HTTP 404: User not found."


# -- packets and subscriptions ---------------------------------------------------------------

def test_packets(tv24_client):
    plain = tv24_client.packets()
    with_addons = tv24_client.packets(includes_availables=True)
    assert [p["id"] for p in plain] == [p["id"] for p in with_addons]
    assert "available" not in plain[0] and "available" in with_addons[0]


def test_subscription_life_cycle(tv24_client):
    user = tv24_client.create_user("79001234567", "79001234567")
    start = datetime.now(timezone.utc).replace(microsecond=0)
    base, addon = tv24_client.create_subscriptions(user["id"], [
        {"packet_id": 2, "renew": True, "start_at": start, "end_at": start + timedelta(days=30)},
        {"packet_id": 10, "renew": True},
    ])
    assert base["end_at"] == (start + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert tv24_client.patch_subscription(user["id"], addon["id"], renew=False)["renew"] is False
    pause = tv24_client.pause_subscription(user["id"], base["id"])
    assert [s["id"] for s in tv24_client.subscriptions(user["id"], types="paused")] == [base["id"]]
    assert tv24_client.unpause(user["id"], base["id"], pause["id"]) is None
    assert len(tv24_client.pause_all(user["id"])) == 2
    assert tv24_client.subscriptions(user["id"], types="active") == []
    assert tv24_client.unpause_all(user["id"]) is None
    assert tv24_client.delete_subscription(user["id"], addon["id"]) is None
    assert [s["id"] for s in tv24_client.subscriptions(user["id"], types="current")] == [base["id"]]
    assert len(tv24_client.subscriptions(user["id"])) == 2


def test_naive_datetimes_are_refused_before_sending(tv24_client, tv24_emulator):
    with pytest.raises(ValueError, match="time zone"):
        tv24_client.create_subscriptions(1, [{"packet_id": 1, "start_at": datetime(2030, 1, 1)}])
    assert not tv24_emulator.state.requests


@pytest.mark.parametrize("items, reason", [
    ([{"packet_id": 10, "renew": True}], "needs a base packet subscription"),
    ([{"packet_id": 999, "renew": True}], "HTTP 400: packet_id: Packet 999 does not exist."),
])
def test_refused_subscriptions_explain_why(tv24_client, items, reason):
    user = tv24_client.create_user("79001234567", "79001234567")
    with pytest.raises(Tv24Rejected, match=reason):
        tv24_client.create_subscriptions(user["id"], items)


def test_ending_a_paused_subscription_is_refused(tv24_client):
    user = tv24_client.create_user("79001234567", "79001234567")
    (base,) = tv24_client.create_subscriptions(user["id"], [{"packet_id": 1, "renew": True}])
    tv24_client.pause_subscription(user["id"], base["id"])
    with pytest.raises(Tv24Rejected, match="unpause it"):
        tv24_client.delete_subscription(user["id"], base["id"])


# -- transient failures ----------------------------------------------------------------------

@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_unavailable(tv24_client, tv24_emulator, status):
    tv24_emulator.faults.fail_next(1, status=status)
    with pytest.raises(Tv24Unavailable) as caught:
        tv24_client.packets()
    assert caught.value.status == status
    assert caught.value.reason == f"HTTP {status}: Injected failure (HTTP {status})."
    assert tv24_client.packets()  # and the next call goes through


def test_rate_limit_is_unavailable_with_retry_after(tv24_client, tv24_emulator):
    tv24_emulator.faults.fail_next(1, status=429)
    with pytest.raises(Tv24Unavailable) as caught:
        tv24_client.packets()
    assert (caught.value.status, caught.value.retry_after) == (429, 1.0)


def test_a_proxy_html_page_is_unavailable(tv24_client, tv24_emulator):
    tv24_emulator.faults.down()
    with pytest.raises(Tv24Unavailable, match=r"HTTP 502 with a non-JSON body \(text/html\)"):
        tv24_client.packets()


def test_a_timeout_is_unavailable_within_the_client_timeout(tv24_emulator):
    tv24_emulator.faults.delay_next(1, seconds=1.5)
    client = Tv24Client(tv24_emulator.url, tv24_emulator.token, timeout=(1, 0.3))
    started = time.monotonic()
    with pytest.raises(Tv24Unavailable, match="no answer within") as caught:
        client.packets()
    assert time.monotonic() - started < 1.0
    assert tv24_emulator.token not in str(caught.value)
    # Let the emulator finish the delayed call, so it cannot leak into the next test.
    deadline = time.monotonic() + 5
    while not tv24_emulator.state.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tv24_emulator.state.requests[0].path == "/v2/packets"


def test_connection_refused_is_unavailable_and_hides_the_token():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = Tv24Client(f"http://127.0.0.1:{port}", "s3cret-provider-token", timeout=(1, 1))
    with pytest.raises(Tv24Unavailable) as caught:
        client.get_user(1)
    assert caught.value.status is None and caught.value.request == "GET /v2/users/1"
    assert "ConnectionError" in caught.value.reason
    assert "s3cret-provider-token" not in str(caught.value)


# -- bodies the emulator does not produce ----------------------------------------------------

def test_any_2xx_is_success(canned_server):
    client = Tv24Client(canned_server.url, "t")
    canned_server.reply(200, {"id": 7, "username": "x"})  # the spec says 201
    canned_server.reply(200, raw=b"", content_type="text/plain")  # the spec says 204
    assert client.create_user("x", "79001234567") == {"id": 7, "username": "x"}
    assert client.delete_user(7) is None


@pytest.mark.parametrize("status, body, content_type, error, reason", [
    (404, b"<h1>Not Found</h1>", "text/html", Tv24Rejected,
     "HTTP 404 with a non-JSON body (text/html): '<h1>Not Found</h1>'"),
    (200, b"OK", "text/plain", Tv24Unavailable, "HTTP 200 with a non-JSON body (text/plain): 'OK'"),
    (400, b'{"unexpected": true}', "application/json", Tv24Rejected,
     "HTTP 400: unexpected error body \"{'unexpected': True}\""),
    (400, b'{"error": {"message": "Bad packet."}, "status_code": 400}', "application/json", Tv24Rejected,
     "HTTP 400: Bad packet."),
    (400, b'{"error": {"message": "x"}, "detail": [{"packet_id": ["Gone."]}]}', "application/json", Tv24Rejected,
     "HTTP 400: packet_id: Gone."),
])
def test_unexpected_bodies_are_classified(canned_server, status, body, content_type, error, reason):
    canned_server.reply(status, raw=body, content_type=content_type)
    with pytest.raises(error) as caught:
        Tv24Client(canned_server.url, "t").packets()
    assert type(caught.value) is error
    assert caught.value.reason == reason


def test_iter_users_refuses_a_body_that_is_not_a_list(canned_server):
    canned_server.reply(200, {"results": []})
    with pytest.raises(Tv24Unavailable, match="expected a JSON array"):
        list(Tv24Client(canned_server.url, "t").iter_users())


def test_every_error_is_a_tv24_error():
    assert all(issubclass(cls, Tv24Error) for cls in (Tv24Unavailable, Tv24Rejected, Tv24DuplicateUser))


# -- the connection --------------------------------------------------------------------------

def test_the_client_reuses_one_connection(tv24_client, tv24_emulator):
    user = tv24_client.create_user("79001234567", "79001234567")
    tv24_client.get_user(user["id"])
    tv24_client.packets()
    tv24_client.find_user(phone="79001234567")
    clients = {entry.client for entry in tv24_emulator.state.requests}
    assert len(tv24_emulator.state.requests) == 4 and len(clients) == 1, clients
