"""The platform fault kit (plugins.faults) and the consecutive-days helper
(plugins.billing_days), against a real upstream on a socket and a real billing day."""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.contributions import JobSpec
from core.services.payments import record_payment
from plugins.testing import BillingDays, FaultProxy


class Upstream:
    """A tiny platform: POST /items/<name> creates an item (409 when it exists), GET /items
    lists them. What it applied is in `applied`."""

    def __init__(self):
        self.items: list[str] = []
        self.applied: list[tuple[str, str]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status, payload):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._send(200, {"items": upstream.items, "path": self.path})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                name = self.path.rsplit("/", 1)[1]
                upstream.applied.append(("POST", self.path))
                if name in upstream.items:
                    return self._send(409, {"error": "already exists"})
                upstream.items.append(name)
                self._send(201, {"created": name, "echo": body.decode()})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream():
    server = Upstream()
    yield server
    server.stop()


def call(url: str, method: str, path: str, body: bytes | None = None, timeout: float = 5.0):
    host, port = url.split("//")[1].split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request(method, path, body=body)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_calls_pass_through_and_are_listed(upstream, fault_proxy):
    proxy = fault_proxy(upstream.url)
    assert proxy.url.endswith("/api")
    assert call(proxy.url, "POST", "/api/items/a", b"x")[0] == 201
    status, body = call(proxy.url, "GET", "/api/items?q=1")
    assert status == 200 and json.loads(body) == {"items": ["a"], "path": "/api/items?q=1"}
    assert [(c.method, c.path, c.status, c.fault, c.forwarded) for c in proxy.calls] == [
        ("POST", "/api/items/a", 201, None, True), ("GET", "/api/items?q=1", 200, None, True)]
    assert proxy.calls[0].body == b"x"


def test_error_answers_without_applying(upstream, fault_proxy):
    proxy = fault_proxy(upstream.url).error(503, times=2, match="POST /api/items/",
                                            body="down for maintenance")
    assert call(proxy.url, "GET", "/api/items")[0] == 200  # does not match: passes
    assert call(proxy.url, "POST", "/api/items/a") == (503, b"down for maintenance")
    assert call(proxy.url, "POST", "/api/items/a")[0] == 503
    assert upstream.applied == []
    assert proxy.armed == 0
    assert call(proxy.url, "POST", "/api/items/a")[0] == 201  # spent: the platform answers
    assert upstream.items == ["a"]


def test_lost_answer_is_applied_then_the_retry_meets_it(upstream, fault_proxy):
    proxy = fault_proxy(upstream.url).lose_answer(match="/api/items/a")
    assert call(proxy.url, "POST", "/api/items/a")[0] == 503
    assert upstream.items == ["a"]  # applied although the client was told 503
    status, body = call(proxy.url, "POST", "/api/items/a")
    assert (status, json.loads(body)) == (409, {"error": "already exists"})
    assert [c.fault for c in proxy.calls] == ["lose_answer", None]


def test_lost_answer_without_status_drops_the_connection(upstream, fault_proxy):
    proxy = fault_proxy(upstream.url).lose_answer(status=None)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(proxy.url, "POST", "/api/items/b")
    assert upstream.items == ["b"]
    assert proxy.calls[0].status is None and proxy.calls[0].forwarded


def test_hang_outlasts_the_client_timeout_and_applies_nothing(upstream, fault_proxy):
    proxy = fault_proxy(upstream.url).hang(match=lambda method, path, body: b"slow" in body)
    started = time.monotonic()
    with pytest.raises((socket.timeout, TimeoutError)):
        call(proxy.url, "POST", "/api/items/c", b"slow", timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 3
    assert upstream.applied == []
    assert call(proxy.url, "POST", "/api/items/c", b"slow")[0] == 201  # spent


def test_garbled_body_is_cut(upstream, fault_proxy):
    proxy = fault_proxy(upstream.url).garble(match="GET /api/items")
    upstream.items.extend(["x", "y"])
    status, body = call(proxy.url, "GET", "/api/items")
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    assert 0 < len(body) < len(json.dumps({"items": ["x", "y"], "path": "/api/items"}))


def test_upstream_down_is_a_bad_gateway(fault_proxy):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proxy = fault_proxy(f"http://127.0.0.1:{port}")
    assert call(proxy.url, "GET", "/x")[0] == 502


def test_bad_arguments_are_refused(upstream):
    with pytest.raises(ValueError, match="http://"):
        FaultProxy("ftp://example")
    with FaultProxy(upstream.url) as proxy, pytest.raises(ValueError, match="times"):
        proxy.error(times=0)


# --- consecutive billing days ------------------------------------------------------------

NOV = date(2026, 11, 1)


def test_billing_days_keep_each_days_money(runtime, factory):
    daily = factory.service("daily 10", price="10.00", method="daily")
    tariff = factory.tariff(base=[daily])
    account = factory.account(tariff=tariff, start_on=NOV)
    with runtime.session() as session:
        record_payment(session, account.contract_id, Decimal("25.00"), source="bank",
                       external_id="p1", received_at=f"{NOV}T00:00:00+00:00")
    ran = BillingDays(runtime, ["core.billing_day"]).run(NOV, 4)
    assert [d.day for d in ran] == [NOV.replace(day=n) for n in (1, 2, 3, 4)]
    assert [d.runs["core.billing_day"]["status"] for d in ran] == ["ok"] * 4
    # 10.00 a day while the balance lasts: 25 → 15 → 5 → -5, then blocked for balance
    assert [d.charged(account.contract_id) for d in ran] == [Decimal("10.00")] * 3 + [Decimal("0.00")]
    assert [d.balances[account.contract_id] for d in ran] == [
        Decimal("15.00"), Decimal("5.00"), Decimal("-5.00"), Decimal("-5.00")]
    assert [d.charged(account.contract_id, period=d.day) for d in ran][:3] == [Decimal("10.00")] * 3


def test_billing_days_fail_on_a_run_that_did_not_end_ok(runtime):
    with pytest.raises(AssertionError, match="2026-11-01: job test.broken ended 'failed'"):
        BillingDays(runtime, ["core.billing_day", "test.broken"]).run(NOV, 2)
    ran = BillingDays(runtime, ["test.broken"], allow={"test.broken": {"failed"}}).run(NOV, 1)
    assert "platform down" in ran[0].runs["test.broken"]["error"]


class BrokenJobs:
    """A plugin whose one job always fails, as a platform that is down makes it."""

    @staticmethod
    def abonent_jobs(runtime):
        def broken(ctx):
            raise ConnectionError("platform down")
        return [JobSpec("test.broken", broken, {"hour": 3})]


@pytest.fixture
def abonent_plugins():
    return [("broken", BrokenJobs())]
