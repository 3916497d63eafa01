"""The emulator over raw HTTP: paths, status codes, bodies, rules, faults, control
endpoints, callbacks and the command line. The client is deliberately not used here, so
that what is checked is the wire, not the client's reading of it."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from plugin_tv24.emulator import CallbackClient, CallbackError, Tv24Emulator
from plugin_tv24.emulator.forms import NewSubscription

_OWN_TOKEN = object()


@pytest.fixture
def api(tv24_emulator):
    """``api(method, path, token=..., **requests_kwargs)``; ``token=None`` sends none."""
    session = requests.Session()

    def call(method: str, path: str, *, token: object = _OWN_TOKEN, params=None, **kwargs) -> requests.Response:
        query = dict(params or {})
        if token is not None:
            query["token"] = tv24_emulator.token if token is _OWN_TOKEN else token
        return session.request(method, tv24_emulator.url + path, params=query, timeout=5, **kwargs)

    yield call
    session.close()


def add_user(emulator: Tv24Emulator, n: int, **fields):
    """A user straight into the state (the HTTP way is tested separately)."""
    phone = f"7900{n:07d}"
    return emulator.state.create_user({"username": phone, "phone": phone, "provider_uid": str(n), **fields})


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def assert_error(response: requests.Response, status: int, *detail_fields: str) -> dict:
    """The platform's envelope: {"error": {"message"}, "status_code", "detail"?}."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status_code"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if detail_fields:
        assert set(body["detail"]) == set(detail_fields), body
    return body


# -- authentication ------------------------------------------------------------------------

def test_missing_token_is_401_in_the_error_envelope(api):
    body = assert_error(api("GET", "/v2/packets", token=None), 401)
    assert body["error"]["message"] == "Authentication credentials were not provided."


def test_wrong_token_is_401(api):
    body = assert_error(api("GET", "/v2/users", token="not-the-token"), 401)
    assert body["error"]["message"] == "Invalid token."


def test_unknown_path_is_404_in_the_error_envelope(api):
    assert_error(api("GET", "/v2/nothing-here"), 404)
    assert_error(api("PUT", "/v2/packets"), 405)


# -- users -----------------------------------------------------------------------------------

def test_create_user_answers_201_with_the_user(api):
    response = api("POST", "/v2/users", json={
        "username": "79001234567", "phone": "79001234567", "first_name": "Иван", "last_name": "Петров",
        "provider_uid": "1001", "is_active": True, "device_limit": 3, "email": "ivan@example.ru",
    })
    assert response.status_code == 201
    user = response.json()
    assert isinstance(user["id"], int)
    assert {k: user[k] for k in ("username", "phone", "first_name", "provider_uid", "device_limit", "email")} == {
        "username": "79001234567", "phone": "79001234567", "first_name": "Иван", "provider_uid": "1001",
        "device_limit": 3, "email": "ivan@example.ru"}
    assert user["is_active"] is True
    assert api("GET", f"/v2/users/{user['id']}").json() == user


def test_create_user_requires_username_and_phone(api):
    body = assert_error(api("POST", "/v2/users", json={"first_name": "X"}), 400, "username", "phone")
    assert body["detail"]["phone"] == ["This field is required."]


@pytest.mark.parametrize("field, value, message", [
    ("device_limit", 101, "Ensure this value is less than or equal to 100."),
    ("device_limit", -1, "Ensure this value is greater than or equal to 0."),
    ("device_limit", "3", "A valid integer is required."),
    ("email", "", "This field may not be blank."),
    ("email", "not-an-address", "Enter a valid email address."),
    ("phone", "12-34", "Enter a valid phone number."),
    ("username", "x" * 41, "Ensure this field has no more than 40 characters."),
    ("is_active", "yes", "Must be a valid boolean."),
])
def test_create_user_refuses_invalid_fields_naming_them(api, field, value, message):
    fields = {"username": "79001234567", "phone": "79001234567", field: value}
    body = assert_error(api("POST", "/v2/users", json=fields), 400, field)
    assert body["detail"][field] == [message]


def test_create_user_refuses_a_body_that_is_not_an_object(api):
    assert_error(api("POST", "/v2/users", json=["79001234567"]), 400, "non_field_errors")
    assert_error(api("POST", "/v2/users", data=b"{not json", headers={"Content-Type": "application/json"}), 400)


def test_duplicate_phone_is_refused_as_the_platform_does(api, tv24_emulator):
    add_user(tv24_emulator, 1)
    response = api("POST", "/v2/users", json={"username": "someone-else", "phone": "79000000001"})
    assert response.status_code == 400
    assert response.json() == {
        "error": {"message": "phone: User with this phone already exists."},
        "status_code": 400,
        "detail": {"phone": ["User with this phone already exists."]},
    }


def test_duplicate_username_is_refused(api, tv24_emulator):
    add_user(tv24_emulator, 1)
    body = assert_error(api("POST", "/v2/users", json={"username": "79000000001", "phone": "79110000000"}),
                        400, "username")
    assert body["detail"]["username"] == ["User with this username already exists."]


def test_patch_user_changes_only_given_fields_and_checks_duplicates(api, tv24_emulator):
    user = add_user(tv24_emulator, 1, first_name="Иван")
    add_user(tv24_emulator, 2)
    response = api("PATCH", f"/v2/users/{user.id}", json={"last_name": "Петров", "device_limit": 2})
    assert response.status_code == 200
    assert (response.json()["first_name"], response.json()["last_name"], response.json()["device_limit"]) == (
        "Иван", "Петров", 2)
    assert_error(api("PATCH", f"/v2/users/{user.id}", json={"phone": "79000000002"}), 400, "phone")
    assert api("PATCH", f"/v2/users/{user.id}", json={"phone": "79000000001"}).status_code == 200  # its own


def test_delete_user_deactivates_it_with_204(api, tv24_emulator):
    user = add_user(tv24_emulator, 1)
    response = api("DELETE", f"/v2/users/{user.id}")
    assert (response.status_code, response.content) == (204, b"")
    assert api("GET", f"/v2/users/{user.id}").json()["is_active"] is False


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("user_id", ["999999", "abc"])
def test_unknown_user_is_404(api, method, user_id):
    body = assert_error(api(method, f"/v2/users/{user_id}", json={}), 404)
    assert body["error"]["message"] == "User not found."


@pytest.mark.parametrize("name, value", [
    ("phone", "79000000002"), ("username", "79000000002"), ("provider_uid", "2"), ("email", "two@example.ru"),
])
def test_list_users_filters_by_exact_value(api, tv24_emulator, name, value):
    for n in (1, 2, 3):
        add_user(tv24_emulator, n, email=["one", "two", "three"][n - 1] + "@example.ru")
    users = api("GET", "/v2/users", params={name: value}).json()
    assert [user["provider_uid"] for user in users] == ["2"]
    assert api("GET", "/v2/users", params={name: "no-such-value"}).json() == []


def test_list_users_pages_with_limit_and_offset(api, tv24_emulator):
    for n in range(1, 6):
        add_user(tv24_emulator, n)
    pages = [api("GET", "/v2/users", params={"limit": 2, "offset": offset}).json() for offset in (0, 2, 4, 6)]
    assert [[user["provider_uid"] for user in page] for page in pages] == [["1", "2"], ["3", "4"], ["5"], []]


def test_list_users_has_a_default_page_of_20(api, tv24_emulator):
    for n in range(25):
        add_user(tv24_emulator, n)
    assert len(api("GET", "/v2/users").json()) == 20


@pytest.mark.parametrize("params, field", [
    ({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"limit": "ten"}, "limit"), ({"offset": -1}, "offset"),
    ({"subscriptions": "everything"}, "subscriptions"),
])
def test_list_users_refuses_bad_parameters(api, params, field):
    assert_error(api("GET", "/v2/users", params=params), 400, field)


def test_list_users_attaches_subscriptions_when_asked(api, tv24_emulator):
    user = add_user(tv24_emulator, 1)
    (base,) = tv24_emulator.state.create_subscriptions(user.id, [NewSubscription(1)])
    add_user(tv24_emulator, 2)
    plain = api("GET", "/v2/users").json()
    assert [user["subscriptions"] for user in plain] == ["", ""]
    attached = api("GET", "/v2/users", params={"subscriptions": "current"}).json()
    assert [[sub["id"] for sub in user["subscriptions"]] for user in attached] == [[base.id], []]


# -- packets ---------------------------------------------------------------------------------

def test_packets_are_a_realistic_catalog(api):
    packets = api("GET", "/v2/packets").json()
    assert {p["base"] for p in packets} == {True, False}
    for packet in packets:
        assert isinstance(packet["id"], int) and packet["name"]
        assert isinstance(packet["price"], str) and "." in packet["price"]
        assert packet["period"] and "available" not in packet


def test_includes_availables_adds_the_allowed_addons(api):
    packets = {p["id"]: p for p in api("GET", "/v2/packets", params={"includes": "availables"}).json()}
    bases = [p for p in packets.values() if p["base"]]
    assert all(p["available"] for p in bases)
    for base in bases:
        assert all(not packets[addon["id"]]["base"] for addon in base["available"])
    assert all(p["available"] == [] for p in packets.values() if not p["base"])


# -- subscriptions ---------------------------------------------------------------------------

def subscribe(api, user_id, *items, status=201):
    response = api("POST", f"/v2/users/{user_id}/subscriptions", json=list(items))
    assert response.status_code == status, response.text
    return response.json()


def test_subscribe_answers_201_with_an_array(api, tv24_emulator):
    user = add_user(tv24_emulator, 1)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    base, addon = subscribe(api, user.id, {"packet_id": 2, "renew": True}, {"packet_id": 10, "renew": False})
    assert isinstance(base["id"], str) and base["id"].isdigit()
    assert (base["packet"]["id"], base["renew"], base["is_paused"], base["pauses"]) == (2, True, False, [])
    assert (addon["packet"]["id"], addon["renew"]) == (10, False)
    start = datetime.fromisoformat(base["start_at"])
    assert base["start_at"].endswith("Z") and start >= before
    assert datetime.fromisoformat(base["end_at"]) - start > timedelta(days=27)


def test_subscribe_with_explicit_dates_keeps_them(api, tv24_emulator):
    user = add_user(tv24_emulator, 1)
    (sub,) = subscribe(api, user.id, {"packet_id": 1, "renew": True, "start_at": "2030-01-20T00:00:00.000Z",
                                      "end_at": "2030-02-19T23:59:59+00:00"})
    assert (sub["start_at"], sub["end_at"]) == ("2030-01-20T00:00:00Z", "2030-02-19T23:59:59Z")


@pytest.mark.parametrize("items, reason", [
    ([{"packet_id": 999, "renew": True}], "Packet 999 does not exist."),
    ([{"packet_id": 10, "renew": True}], "needs a base packet"),
    ([{"packet_id": 1}, {"packet_id": 10}], "not available with base packet 1"),
    ([{"packet_id": 1}, {"packet_id": 2}], "one base packet at a time"),
    ([{"packet_id": 2}, {"packet_id": 10}, {"packet_id": 10}],
     "The user already has a subscription to packet 10 in this period."),
    ([{"renew": True}], "This field is required."),
    ([{"packet_id": 1, "start_at": "tomorrow"}], "Datetime has wrong format."),
])
def test_subscribe_refuses_with_a_reason_and_creates_nothing(api, tv24_emulator, items, reason):
    user = add_user(tv24_emulator, 1)
    body = assert_error(api("POST", f"/v2/users/{user.id}/subscriptions", json=items), 400)
    assert reason in json.dumps(body, ensure_ascii=False)
    assert tv24_emulator.state.subscriptions == {}


def test_a_second_base_packet_is_refused_while_one_is_active(api, tv24_emulator):
    user = add_user(tv24_emulator, 1)
    subscribe(api, user.id, {"packet_id": 1, "renew": True})
    body = assert_error(api("POST", f"/v2/users/{user.id}/subscriptions", json=[{"packet_id": 3}]), 400, "packet_id")
    assert "Base packet 1" in body["error"]["message"]


def test_a_base_packet_may_be_planned_after_the_current_one(api, tv24_emulator):
    user = add_user(tv24_emulator, 1)
    (current,) = subscribe(api, user.id, {"packet_id": 1, "renew": False})
    next_start = datetime.fromisoformat(current["end_at"]) + timedelta(seconds=1)
    (planned,) = subscribe(api, user.id, {"packet_id": 2, "renew": True, "start_at": iso(next_start)})
    listing = api("GET", f"/v2/users/{user.id}/subscriptions", params={"types": "planned"}).json()
    assert [sub["id"] for sub in listing] == [planned["id"]]


@pytest.mark.parametrize("body", [{"packet_id": 1}, [], None])
def test_subscribe_needs_a_non_empty_json_array(api, tv24_emulator, body):
    user = add_user(tv24_emulator, 1)
    assert_error(api("POST", f"/v2/users/{user.id}/subscriptions", json=body), 400, "non_field_errors")


def test_subscriptions_of_an_unknown_user_are_404(api):
    assert_error(api("GET", "/v2/users/424242/subscriptions"), 404)
    assert_error(api("POST", "/v2/users/424242/subscriptions", json=[{"packet_id": 1}]), 404)


def test_subscription_types_filter(api, tv24_emulator):
    user = add_user(tv24_emulator, 1)
    base, addon = subscribe(api, user.id, {"packet_id": 2}, {"packet_id": 10})
    (planned,) = subscribe(api, user.id, {"packet_id": 1, "start_at": "2099-01-01T00:00:00Z"})
    api("POST", f"/v2/users/{user.id}/subscriptions/{addon['id']}/pauses")

    def ids(types=None):
        params = {"types": types} if types else {}
        return sorted(sub["id"] for sub in api("GET", f"/v2/users/{user.id}/subscriptions", params=params).json())

    assert ids() == sorted([base["id"], addon["id"], planned["id"]])
    assert ids("current") == sorted([base["id"], addon["id"]])
    assert ids("active") == [base["id"]]
    assert ids("paused") == [addon["id"]]
    assert ids("planned") == [planned["id"]]
    for refused in ("expired", "all", "active,paused"):  # the spec lists four values, one at a time
        assert_error(api("GET", f"/v2/users/{user.id}/subscriptions", params={"types": refused}),
                     400, "types")


def test_patch_subscription_changes_renew(api, tv24_emulator):
    user = add_user(tv24_emulator, 1)
    (sub,) = subscribe(api, user.id, {"packet_id": 1, "renew": True})
    response = api("PATCH", f"/v2/users/{user.id}/subscriptions/{sub['id']}", json={"packet_id": 1, "renew": False})
    assert response.status_code == 200
    assert response.json()["renew"] is False
    assert tv24_emulator.state.subscriptions[sub["id"]].renew is False


def test_delete_subscription_ends_it_with_204(api, tv24_emulator):
    user = add_user(tv24_emulator, 1)
    (sub,) = subscribe(api, user.id, {"packet_id": 1})
    response = api("DELETE", f"/v2/users/{user.id}/subscriptions/{sub['id']}")
    assert (response.status_code, response.content) == (204, b"")
    assert api("GET", f"/v2/users/{user.id}/subscriptions", params={"types": "current"}).json() == []
    ended = api("GET", f"/v2/users/{user.id}/subscriptions").json()[0]
    assert ended["end_at"] <= iso(datetime.now(timezone.utc))
    again = api("DELETE", f"/v2/users/{user.id}/subscriptions/{sub['id']}")  # as the platform does
    assert assert_error(again, 400)["error"]["message"] == "The subscription has already ended."


def test_delete_of_a_planned_subscription_removes_it(api, tv24_emulator):
    user = add_user(tv24_emulator, 1)
    (sub,) = subscribe(api, user.id, {"packet_id": 1, "start_at": "2099-01-01T00:00:00Z"})
    assert api("DELETE", f"/v2/users/{user.id}/subscriptions/{sub['id']}").status_code == 204
    assert api("GET", f"/v2/users/{user.id}/subscriptions").json() == []


def test_a_subscription_of_another_user_is_404(api, tv24_emulator):
    owner, other = add_user(tv24_emulator, 1), add_user(tv24_emulator, 2)
    (sub,) = subscribe(api, owner.id, {"packet_id": 1})
    assert_error(api("DELETE", f"/v2/users/{other.id}/subscriptions/{sub['id']}"), 404)
    assert_error(api("PATCH", f"/v2/users/{owner.id}/subscriptions/7", json={"renew": False}), 404)


# -- pauses ----------------------------------------------------------------------------------

def test_pause_and_unpause_one_subscription(api, tv24_emulator):
    user = add_user(tv24_emulator, 1)
    (sub,) = subscribe(api, user.id, {"packet_id": 1})
    path = f"/v2/users/{user.id}/subscriptions/{sub['id']}/pauses"
    response = api("POST", path)
    assert response.status_code == 201
    pause = response.json()
    assert set(pause) == {"id", "start_at", "end_at"} and pause["end_at"] > pause["start_at"]
    paused = api("GET", f"/v2/users/{user.id}/subscriptions").json()[0]
    assert paused["is_paused"] is True and paused["pauses"] == [pause]
    assert_error(api("POST", path), 400)  # already paused
    assert_error(api("DELETE", f"/v2/users/{user.id}/subscriptions/{sub['id']}"), 400)  # unpause first
    response = api("DELETE", f"{path}/{pause['id']}")
    assert (response.status_code, response.content) == (204, b"")
    assert api("GET", f"/v2/users/{user.id}/subscriptions").json()[0]["is_paused"] is False
    assert_error(api("DELETE", f"{path}/123"), 404)


def test_unpausing_gives_back_the_paused_time(tv24_emulator):
    clock = [datetime(2030, 1, 1, tzinfo=timezone.utc)]
    state = tv24_emulator.state
    real_clock, state.clock = state.clock, lambda: clock[0]
    try:
        user = add_user(tv24_emulator, 1)
        (sub,) = state.create_subscriptions(user.id, [NewSubscription(1)])
        end = sub.end_at
        pause = state.pause(user.id, sub.id)
        clock[0] += timedelta(days=10)
        state.unpause(user.id, sub.id, pause.id)
        assert sub.end_at == end + timedelta(days=10)
        assert pause.end_at == clock[0]
    finally:
        state.clock = real_clock


def test_pause_all_and_unpause_all(api, tv24_emulator):
    user = add_user(tv24_emulator, 1)
    subscribe(api, user.id, {"packet_id": 2}, {"packet_id": 10})
    response = api("POST", f"/v2/users/{user.id}/pauses")
    assert response.status_code == 201
    assert len(response.json()) == 2 and len(tv24_emulator.state.pauses) == 2
    assert api("GET", f"/v2/users/{user.id}/subscriptions", params={"types": "active"}).json() == []
    assert api("POST", f"/v2/users/{user.id}/pauses").json() == []  # nothing left to pause
    response = api("DELETE", f"/v2/users/{user.id}/pauses/delete")
    assert response.status_code == 204
    assert len(api("GET", f"/v2/users/{user.id}/subscriptions", params={"types": "active"}).json()) == 2


# -- request log, keep-alive, concurrency ----------------------------------------------------

def test_request_log_records_calls_without_the_token(api, tv24_emulator):
    api("POST", "/v2/users", json={"username": "79001234567", "phone": "79001234567"})
    api("GET", "/v2/users", params={"phone": "79001234567"})
    first, second = tv24_emulator.state.requests
    assert (first.method, first.path, first.status, first.body["phone"]) == ("POST", "/v2/users", 201, "79001234567")
    assert (second.method, second.query, second.status) == ("GET", {"phone": "79001234567"}, 200)


def test_connections_are_kept_alive(tv24_emulator):
    connection = http.client.HTTPConnection(tv24_emulator.host, tv24_emulator.port, timeout=5)
    sockets = []
    for method, body in [("GET", None), ("POST", b'{"username": "x"}'), ("GET", None)]:
        connection.request(method, f"/v2/users?token={tv24_emulator.token}", body=body,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        assert response.version == 11 and not response.will_close
        sockets.append(connection.sock)
    assert sockets[0] is not None and sockets == [sockets[0]] * 3
    connection.close()


def test_concurrent_creations_of_one_phone_yield_one_user(tv24_emulator):
    url = f"{tv24_emulator.url}/v2/users?token={tv24_emulator.token}"
    statuses = []

    def create(n: int) -> None:
        body = {"username": f"user{n}", "phone": "79005550000"}
        statuses.append(requests.post(url, json=body, timeout=5).status_code)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [400] * 11
    assert len(tv24_emulator.state.users) == 1


# -- faults ----------------------------------------------------------------------------------

def test_fail_next_answers_the_status_then_recovers(api, tv24_emulator):
    tv24_emulator.faults.fail_next(2, status=503)
    tv24_emulator.faults.fail_next(1, status=500)
    responses = [api("GET", "/v2/packets") for _ in range(4)]
    assert [response.status_code for response in responses] == [503, 503, 500, 200]
    assert_error(responses[2], 500)  # in the platform's envelope


def test_a_429_says_when_to_retry(api, tv24_emulator):
    tv24_emulator.faults.fail_next(1, status=429)
    response = api("GET", "/v2/packets")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "1")


def test_delay_next_holds_the_answer(api, tv24_emulator):
    tv24_emulator.faults.delay_next(1, seconds=0.3)
    started = time.monotonic()
    assert api("GET", "/v2/packets").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_latency_is_added_to_every_answer_and_outlives_clear(api, tv24_emulator):
    """A platform 0.2 s away (the delivery benchmark's setting): every call, not the next
    few, and clearing the faults keeps it."""
    assert api("POST", "/_emulator/faults", token=None,
               json={"clear": True, "latency": 0.2}).json()["latency"] == 0.2
    try:
        for _ in range(2):
            started = time.monotonic()
            assert api("GET", "/v2/packets").status_code == 200
            assert time.monotonic() - started >= 0.2
            tv24_emulator.faults.clear()
        assert_error(api("POST", "/_emulator/faults", token=None, json={"latency": -1}), 400)
    finally:
        tv24_emulator.faults.set_latency(0)


def test_down_answers_like_a_proxy_with_no_platform_behind(api, tv24_emulator):
    tv24_emulator.faults.down()
    response = api("GET", "/v2/packets")
    assert response.status_code == 502 and response.headers["Content-Type"].startswith("text/html")
    assert api("GET", "/_emulator/state").status_code == 200  # control stays reachable
    tv24_emulator.faults.up()
    assert api("GET", "/v2/packets").status_code == 200


def test_faults_are_set_over_http(api, tv24_emulator):
    response = api("POST", "/_emulator/faults", token=None,
                   json={"fail_next": {"count": 1, "status": 502}, "delay_next": {"count": 1, "seconds": 0}})
    assert response.json() == {"down": False, "fail_next": [502], "delay_next": [0.0], "latency": 0.0}
    assert api("GET", "/v2/packets").status_code == 502
    assert api("POST", "/_emulator/faults", token=None, json={"down": True}).json()["down"] is True
    assert api("GET", "/v2/packets").status_code == 502
    assert api("POST", "/_emulator/faults", token=None, json={"clear": True}).json()["down"] is False
    assert api("GET", "/v2/packets").status_code == 200
    assert_error(api("POST", "/_emulator/faults", token=None, json={"fail_next": {"status": 200}}), 400)


def test_state_and_reset_over_http(api, tv24_emulator):
    user = add_user(tv24_emulator, 1)
    tv24_emulator.state.create_subscriptions(user.id, [NewSubscription(1)])
    api("GET", "/v2/packets")
    state = api("GET", "/_emulator/state", token=None).json()
    assert [u["id"] for u in state["users"]] == [user.id]
    assert [(s["user_id"], s["packet"]["id"]) for s in state["subscriptions"]] == [(user.id, 1)]
    assert state["requests"][-1]["path"] == "/v2/packets"
    assert state["faults"] == {"down": False, "fail_next": [], "delay_next": [], "latency": 0.0}
    assert api("POST", "/_emulator/reset", token=None).status_code == 204
    assert tv24_emulator.state.users == {} and tv24_emulator.state.subscriptions == {}
    api("POST", "/_emulator/reset", token=None, json={"demo": True})
    assert len(tv24_emulator.state.users) == 3 and len(tv24_emulator.state.pauses) == 1


def test_a_stopped_emulator_restarts_on_the_same_port_with_its_state():
    with Tv24Emulator(token="t") as emulator:
        url = emulator.url
        add_user(emulator, 1)
        emulator.stop()
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/v2/users", params={"token": "t"}, timeout=2)
        emulator.start()
        assert emulator.url == url
        assert len(requests.get(f"{url}/v2/users", params={"token": "t"}, timeout=2).json()) == 1


def test_custom_packets_are_checked():
    custom = [{"id": 7, "name": "Base", "price": "10.00", "base": True, "available": [8]},
              {"id": 8, "name": "Extra", "price": "1.50", "base": False}]
    assert set(Tv24Emulator(packets=custom).state.packets) == {7, 8}
    with pytest.raises(ValueError, match="not an add-on"):
        Tv24Emulator(packets=[{"id": 7, "name": "Base", "price": "10.00", "base": True, "available": [9]}])


# -- callbacks -------------------------------------------------------------------------------

def test_callbacks_post_query_and_body_to_the_billing(canned_server):
    callbacks = CallbackClient(canned_server.url + "/tv24/s3cret")
    canned_server.reply(body={"user_id": 1001})
    canned_server.reply(body={"status": 1})
    canned_server.reply(body={"status": 1})
    canned_server.reply(body={"balance": "500.00"})
    assert callbacks.auth("79001234567", ip="10.0.0.5", mbr_id=100001) == {"user_id": 1001}
    user = {"id": 100001, "phone": "79001234567", "provider_uid": "1001"}
    assert callbacks.packet("1001", 2, 2, "299.00", user) == {"status": 1}
    assert callbacks.delete_subscription("1001", "5000001", 2) == {"status": 1}
    assert callbacks.balance("1001") == {"balance": "500.00"}
    received = [(r.method, r.path, r.query) for r in canned_server.received]
    assert received == [
        ("POST", "/tv24/s3cret/auth", {"phone": "79001234567", "ip": "10.0.0.5", "mbr_id": "100001"}),
        ("POST", "/tv24/s3cret/packet", {"user_id": "1001", "trf_id": "2"}),
        ("POST", "/tv24/s3cret/delete_subscription", {"user_id": "1001", "sub_id": "5000001"}),
        ("POST", "/tv24/s3cret/balance", {"user_id": "1001"}),
    ]
    assert canned_server.json_bodies() == [
        None,
        {"packet": {"id": 2, "price": "299.00"}, "user": user},
        {"subscription": {"packet": {"id": 2}}},
        None,
    ]


def test_callback_leaves_out_absent_parameters(canned_server):
    CallbackClient(canned_server.url).auth("79001234567")
    assert canned_server.received[0].query == {"phone": "79001234567"}


def test_the_emulator_carries_a_callback_client(canned_server):
    emulator = Tv24Emulator(callback_url=canned_server.url)
    canned_server.reply(body={"status": -1, "err": 1, "errmsg": "not found"})
    assert emulator.callbacks.auth("79001234567")["status"] == -1


@pytest.mark.parametrize("reply, complaint", [
    ({"raw": b"<html>oops</html>", "content_type": "text/html"}, "is not JSON"),
    ({"status": 500, "body": {"error": "boom"}}, "HTTP 500"),
    ({"delay": 1.0}, "no answer"),
])
def test_a_billing_that_fails_a_callback_raises_callback_error(canned_server, reply, complaint):
    canned_server.reply(**reply)
    with pytest.raises(CallbackError, match=complaint):
        CallbackClient(canned_server.url, timeout=0.3).balance("1001")


def test_callback_default_timeout_is_the_platforms_5_seconds():
    assert CallbackClient("http://billing.example").timeout == 5.0


# -- command line ----------------------------------------------------------------------------

def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plugin_tv24.emulator", *args],
                          capture_output=True, text=True, timeout=20, **kwargs)


def test_cli_sends_a_callback_and_prints_the_reply(canned_server):
    canned_server.reply(body={"user_id": 1001})
    result = run_cli("callback", "auth", "--api-url", canned_server.url, "--phone", "79001234567")
    assert (result.returncode, json.loads(result.stdout)) == (0, {"user_id": 1001}), result.stderr
    assert canned_server.received[0].query == {"phone": "79001234567"}


def test_cli_callback_failure_exits_1(canned_server):
    canned_server.reply(raw=b"nope", content_type="text/plain")
    result = run_cli("callback", "balance", "--api-url", canned_server.url, "--user-id", "1001")
    assert result.returncode == 1 and "is not JSON" in result.stderr


def test_cli_serves_the_emulator_with_demo_data():
    process = subprocess.Popen([sys.executable, "-m", "plugin_tv24.emulator", "--port", "0", "--token", "cli-token",
                                "--demo"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        banner = process.stdout.readline()
        url = banner.split(" at ")[1].split(" ")[0]
        users = requests.get(f"{url}/v2/users", params={"token": "cli-token"}, timeout=5).json()
        assert len(users) == 3
        assert requests.get(f"{url}/_emulator/state", timeout=5).json()["faults"]["down"] is False
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
