"""Fixtures for the 24h TV plugin's tests: everything runs over real sockets on 127.0.0.1.

* ``tv24_emulator`` - one emulator for the whole session (port 0), wiped before each test;
* ``tv24_client`` - a :class:`Tv24Client` pointed at it, with short timeouts;
* ``canned_server`` - a tiny HTTP server answering prepared replies and recording what it
  was sent: the billing's callback receiver for callback tests, and a misbehaving
  "platform" for client tests the emulator cannot stage (a 4xx HTML page, a bare 200);
* ``tv`` - the plugin loaded into a runtime (on SQLite and PostgreSQL), a "24h TV" agent
  pointed at the emulator, one service per packet; every exchange of the plugin with the
  platform during the test is validated against the OpenAPI spec at its end.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

import plugin_tv24.plugin
from plugin_tv24 import connections
from plugin_tv24.client import Tv24Client
from plugin_tv24.conformance import check_exchange
from plugin_tv24.emulator import DEFAULT_PACKETS, Tv24Emulator

TOKEN = "test-token-5f1c"
SECRET = "cb-secret-9d2e"


@pytest.fixture(scope="session")
def tv24_server():
    with Tv24Emulator(token=TOKEN) as emulator:
        yield emulator


@pytest.fixture
def tv24_emulator(tv24_server):
    tv24_server.reset()
    return tv24_server


@pytest.fixture
def tv24_client(tv24_emulator):
    with Tv24Client(tv24_emulator.url, tv24_emulator.token, timeout=(2, 5)) as client:
        yield client


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    body: bytes


@dataclass
class CannedServer:
    """Answers queued :class:`Reply` objects in order (then ``{}``), records requests."""

    url: str = ""
    replies: deque = field(default_factory=deque)
    received: list = field(default_factory=list)

    def reply(self, status: int = 200, body: object = None, *, raw: bytes | None = None,
              content_type: str = "application/json", delay: float = 0.0) -> None:
        data = raw if raw is not None else json.dumps({} if body is None else body).encode()
        self.replies.append(Reply(status, data, content_type, delay))

    def json_bodies(self) -> list:
        return [json.loads(item.body) if item.body else None for item in self.received]


@pytest.fixture
def canned_server():
    canned = CannedServer()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parts = urlsplit(self.path)
            canned.received.append(Received(self.command, parts.path, dict(parse_qsl(parts.query)),
                                            self.rfile.read(length)))
            reply = canned.replies.popleft() if canned.replies else Reply()
            stop.wait(reply.delay)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # a delayed reply's client has timed out and gone: that was the test

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    canned.url = f"http://127.0.0.1:{server.server_port}"
    yield canned
    stop.set()
    server.shutdown()
    server.server_close()
    thread.join()


# --- the plugin in a runtime ------------------------------------------------------------------

@pytest.fixture
def abonent_plugins():
    return [("tv24", plugin_tv24.plugin)]


@pytest.fixture
def abonent_config():
    return {"plugins": {"tv24": {"connect_timeout": "1", "read_timeout": "2"}}}


@pytest.fixture
def tv24_traffic(monkeypatch):
    """Every response the plugin's clients got from the platform in this test; each
    exchange is validated against the OpenAPI spec when the test ends."""
    exchanges: list = []

    class RecordingClient(Tv24Client):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.http.observers.append(exchanges.append)

    monkeypatch.setattr(connections, "Tv24Client", RecordingClient)
    connections.forget()
    yield exchanges
    connections.forget()
    for exchange in exchanges:
        check_exchange(exchange)


class TvWorld:
    """A billing wired to the emulator: a 24h TV agent, a service per packet, helpers to
    build tariffs and accounts and to look at the platform."""

    def __init__(self, runtime, factory, emulator, drain):
        self.runtime, self.factory, self.emulator, self.drain = runtime, factory, emulator, drain
        factory.operator()
        self.services = {packet.id: factory.service(name=f"TV {packet.name}", price=packet.price,
                                                    agent_type="tv24", external_code=str(packet.id))
                         for packet in DEFAULT_PACKETS}
        self.secret = SECRET
        self.agent = factory.agent(type="tv24", name="24h TV", api_url=emulator.url,
                                   token=emulator.token, callback_secret=SECRET,
                                   allowed_sources=["127.0.0.1"])

    def configure(self, **settings) -> None:
        """Change the agent's settings (e.g. default_tar_id, allowed_sources)."""
        from core.models import Agent
        with self.runtime.session() as s:
            agent = s.get(Agent, self.agent.id)
            agent.settings = {**agent.settings, **settings}

    def tariff(self, base: int = 2, addons=(10, 11), device_limit=None, **kw):
        return self.factory.tariff(base=[self.services[base]],
                                   extra=[self.services[p] for p in addons],
                                   device_limit=device_limit, **kw)

    def account(self, login: str = "79001234567", tariff=None, fields=None, contract=None, **kw):
        return self.factory.account(contract=contract, tariff=tariff or self.tariff(),
                                    agent=self.agent, login=login, fields=fields, **kw)

    # --- the platform's side ---------------------------------------------------------------

    def user(self, account_id: int):
        """The platform user whose provider_uid is the account, or None."""
        found = self.emulator.state.find_users({"provider_uid": str(account_id)})
        assert len(found) <= 1, found
        return found[0] if found else None

    def packets(self, account_id: int, kind: str = "current") -> list[int]:
        """Packet ids of the user's subscriptions of `kind` (current, active, paused…)."""
        user = self.user(account_id)
        return sorted(s.packet.id for s in self.emulator.state.user_subscriptions(user.id, (kind,)))

    def calls(self, method: str | None = None, path_part: str = "") -> list:
        return [r for r in self.emulator.state.requests
                if (method is None or r.method == method) and path_part in r.path]


@pytest.fixture
def tv(runtime, factory, tv24_emulator, drain, tv24_traffic):
    return TvWorld(runtime, factory, tv24_emulator, drain)
