"""The emulator over raw HTTP: transport, search paging, sessions, limits, faults, controls."""

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from plugin_wialon.emulator import WialonEmulator

TOKEN = "t" * 72


def search_params(account_id, flags=1, first=0, last=0):
    return {
        "spec": {"itemsType": "avl_unit", "propName": "sys_billing_account_guid",
                 "propValueMask": str(account_id), "sortType": "sys_name",
                 "propType": "property"},
        "force": 1, "flags": flags, "from": first, "to": last,
    }


class Api:
    """Raw calls to /wialon/ajax.html, as POST form (default) or GET query."""

    def __init__(self, emulator, http=None):
        self.url = emulator.api_url
        self.http = http or requests.Session()
        self.sid = None

    def raw(self, svc, params, sid=None, method="POST"):
        fields = {"svc": svc, "params": json.dumps(params)}
        if sid is not None:
            fields["sid"] = sid
        if method == "GET":
            return self.http.get(self.url, params=fields, timeout=10)
        return self.http.post(self.url, data=fields, timeout=10)

    def call(self, svc, params=None, method="POST"):
        return self.raw(svc, params if params is not None else {}, self.sid, method).json()

    def login(self, token=TOKEN):
        reply = self.call("token/login", {"token": token, "fl": 1})
        self.sid = reply.get("eid")
        return reply


@pytest.fixture
def emulator():
    with WialonEmulator({TOKEN: "billing"}) as emu:
        emu.add_account(777, units=6)
        emu.add_account(1001, units=2)
        emu.add_account(1002, units=0)
        yield emu


@pytest.fixture
def api(emulator):
    api = Api(emulator)
    api.login()
    return api


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_get_and_post_forms_answer_exact_json_content_type(emulator, method):
    api = Api(emulator)
    login = api.raw("token/login", {"token": TOKEN, "fl": 1}, method=method)
    assert login.status_code == 200
    assert login.headers["Content-Type"] == "application/json"
    sid = login.json()["eid"]
    found = api.raw("core/search_items", search_params(777), sid=sid, method=method)
    assert found.headers["Content-Type"] == "application/json"
    assert found.json()["totalItemsCount"] == 6


def test_login_reply_has_session_and_user(emulator):
    reply = Api(emulator).login()
    assert len(reply["eid"]) == 32
    assert reply["user"]["nm"] == "billing"
    assert {"id", "bact", "cls", "uacl"} <= reply["user"].keys()
    assert reply["classes"]["avl_unit"] == 2
    assert reply["th"] == TOKEN


def test_search_flags_paging_and_total(api):
    everything = api.call("core/search_items", search_params(777))
    assert everything["totalItemsCount"] == 6
    assert (everything["indexFrom"], everything["indexTo"]) == (0, 0)
    assert everything["dataFlags"] == 1
    assert everything["searchSpec"]["propValueMask"] == "777"
    names = [unit["nm"] for unit in everything["items"]]
    assert names == sorted(names) and len(names) == 6
    assert set(everything["items"][0]) == {"id", "nm", "cls", "mu", "uacl"}

    page = api.call("core/search_items", search_params(777, first=2, last=3))
    assert page["totalItemsCount"] == 6
    assert (page["indexFrom"], page["indexTo"]) == (2, 3)
    assert page["items"] == everything["items"][2:4]

    ids_only = api.call("core/search_items", search_params(777, flags=0))
    assert ids_only["items"] == [{"id": unit["id"]} for unit in everything["items"]]


def test_search_unknown_account_finds_nothing(api):
    reply = api.call("core/search_items", search_params(424242))
    assert reply["totalItemsCount"] == 0 and reply["items"] == []


def test_account_data_usage_and_unknown_account(api):
    data = api.call("account/get_account_data", {"itemId": 777, "type": 2})
    assert data["settings"]["combined"]["services"]["avl_unit"]["usage"] == 6
    assert "settings" not in api.call("account/get_account_data", {"itemId": 777, "type": 1})
    assert api.call("account/get_account_data", {"itemId": 424242, "type": 2}) == {"error": 7}


def test_unknown_service_and_bad_params(api):
    assert api.call("core/no_such_thing")["error"] == 2
    bad = api.http.post(api.url, data={"svc": "core/search_items", "params": "{nope",
                                       "sid": api.sid}).json()
    assert bad["error"] == 4
    assert api.call("core/search_items", {"spec": {"itemsType": "user"}})["error"] == 4


def test_bad_token_and_failed_login_throttling(emulator):
    api = Api(emulator)
    assert api.login("x" * 72) == {"error": 8}
    assert api.call("token/login", {"fl": 1})["error"] == 4
    for _ in range(9):
        api.login("x" * 72)
    blocked = api.login(TOKEN)  # the 11th attempt in a minute, even with a good token
    assert blocked == {"error": 1003, "reason": "LIMIT failed_logins"}


def test_no_session_and_sid_none(emulator):
    api = Api(emulator)
    assert api.call("core/search_items", search_params(777)) == {"error": 1}
    assert api.raw("core/search_items", search_params(777), sid="None").json() == {"error": 1}


def test_idle_session_expires():
    with WialonEmulator({TOKEN: "billing"}, session_idle_timeout=0.3) as emu:
        api = Api(emu)
        api.login()
        assert "error" not in api.call("core/search_items", search_params(1))
        time.sleep(0.5)
        assert api.call("core/search_items", search_params(1)) == {"error": 1}


@pytest.mark.parametrize("code", [1, 1011])
def test_forced_expiry_answers_the_chosen_code(emulator, api, code):
    assert emulator.expire_sessions(code) == 1
    assert api.call("core/search_items", search_params(777)) == {"error": code}
    api.login()
    assert api.call("core/search_items", search_params(777))["totalItemsCount"] == 6


def test_logout_ends_the_session(api):
    assert api.call("core/logout") == {"error": 0}
    assert api.call("core/search_items", search_params(777)) == {"error": 1}


def test_eleventh_concurrent_request_gets_1003(emulator, api):
    emulator.state.set_delay(1.0)
    start = threading.Barrier(15)
    replies = []

    def slow_search():
        http = requests.Session()  # one connection per request, all at once
        start.wait()
        replies.append(http.post(api.url, data={
            "svc": "core/search_items", "params": json.dumps(search_params(777)),
            "sid": api.sid}, timeout=10).json())

    threads = [threading.Thread(target=slow_search) for _ in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rejected = [r for r in replies if "error" in r]
    assert len(replies) - len(rejected) == 10
    assert rejected == [{"error": 1003, "reason": "LIMIT api_concurrent"}] * 5
    assert emulator.state.stats["busy_rejections"] == 5


def test_batch_mixed_results_in_both_forms(emulator, api):
    emulator.state.fail_accounts({1001: 5})
    subs = [
        {"svc": "core/search_items", "params": search_params(777)},
        {"svc": "core/search_items", "params": search_params(1001)},
        {"svc": "account/get_account_data", "params": {"itemId": 424242, "type": 2}},
        {"svc": "core/nope", "params": {}},
        {"svc": "account/get_account_data", "params": {"itemId": 1002, "type": 2}},
    ]
    as_list = api.call("core/batch", subs)
    assert as_list[0]["totalItemsCount"] == 6
    assert as_list[1] == {"error": 5}
    assert as_list[2] == {"error": 7}
    assert as_list[3]["error"] == 2
    assert as_list[4]["settings"]["combined"]["services"]["avl_unit"]["usage"] == 0

    as_object = api.call("core/batch", {"params": subs, "flags": 0})
    assert as_object == as_list

    stop_on_error = api.call("core/batch", {"params": subs, "flags": 1})
    assert stop_on_error[:2] == [as_list[0], {"error": 5}]
    assert stop_on_error[2:] == [{"error": 10}] * 3


def test_account_fault_can_be_temporary(emulator, api):
    emulator.state.fail_accounts({777: 10}, times=2)
    batch = [{"svc": "core/search_items", "params": search_params(777)}]
    assert api.call("core/batch", batch) == [{"error": 10}]
    assert api.call("core/batch", batch) == [{"error": 10}]
    assert api.call("core/batch", batch)[0]["totalItemsCount"] == 6


def test_non_json_reply_then_normal_again(emulator, api):
    emulator.state.serve_non_json(2, status=502)
    for _ in range(2):
        broken = api.raw("core/search_items", search_params(777), sid=api.sid)
        assert broken.status_code == 502
        assert broken.headers["Content-Type"] == "text/html"
        assert "<h1>502 Bad Gateway</h1>" in broken.text
    assert api.call("core/search_items", search_params(777))["totalItemsCount"] == 6


def test_control_endpoints(emulator, api):
    control = emulator.url + "/_emulator"
    http = requests.Session()
    assert http.post(f"{control}/accounts", json={"account_id": 5000, "units": 3}).json() == {
        "ok": True, "account_id": 5000, "units": 3}
    assert api.call("core/search_items", search_params(5000))["totalItemsCount"] == 3

    http.post(f"{control}/fail_accounts", json={"accounts": {"5000": 7}, "times": 1})
    assert api.call("core/search_items", search_params(5000)) == {"error": 7}

    http.post(f"{control}/non_json", json={"count": 1, "status": 503})
    assert api.raw("core/search_items", search_params(5000), sid=api.sid).status_code == 503

    http.post(f"{control}/delay", json={"seconds": 0.2})
    started = time.monotonic()
    api.call("core/search_items", search_params(5000))
    assert time.monotonic() - started >= 0.2
    http.post(f"{control}/fail_logins", json={"code": 1003, "times": 1})
    assert Api(emulator).login() == {"error": 1003, "reason": "LIMIT api_concurrent"}
    assert "eid" in Api(emulator).login()
    http.post(f"{control}/reset_faults", json={})

    assert http.post(f"{control}/expire_sessions", json={"code": 1011}).json()["expired"] == 2
    assert api.call("core/search_items", search_params(5000)) == {"error": 1011}

    http.post(f"{control}/invalidate_token", json={"token": TOKEN})
    assert api.login() == {"error": 8}

    state = http.get(f"{control}/state").json()
    assert state["accounts"] == 4 and state["tokens"] == 0 and state["stats"]["logins"] == 2
    assert state["stats"]["bytes_sent"] > 0
    bad = http.post(f"{control}/accounts", json={"units": 3})
    assert bad.status_code == 400 and "account_id" in bad.json()["error"]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_serves_the_demo_seed():
    port = _free_port()
    distribution = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "plugin_wialon.emulator", "--port", str(port),
         "--token", TOKEN, "--demo", "--quiet"],
        cwd=distribution, stdout=subprocess.PIPE, text=True)
    try:
        assert "Wialon emulator at" in process.stdout.readline()
        api = Api(type("Target", (), {"api_url": f"http://127.0.0.1:{port}/wialon/ajax.html"}))
        api.login()
        assert api.call("core/search_items", search_params(777))["totalItemsCount"] == 6
        assert requests.get(f"http://127.0.0.1:{port}/_emulator/state").json()["accounts"] == 301
    finally:
        process.terminate()
        process.wait(timeout=10)
