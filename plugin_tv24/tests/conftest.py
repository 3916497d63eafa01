"""Fixtures for the 24h TV plugin's tests: everything runs over real sockets on 127.0.0.1.

* ``tv24_emulator`` - one emulator for the whole session (port 0), wiped before each test;
* ``tv24_client`` - a :class:`Tv24Client` pointed at it, with short timeouts;
* ``canned_server`` - a tiny HTTP server answering prepared replies and recording what it
  was sent: the billing's callback receiver for callback tests, and a misbehaving
  "platform" for client tests the emulator cannot stage (a 4xx HTML page, a bare 200).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from plugin_tv24.client import Tv24Client
from plugin_tv24.emulator import Tv24Emulator

TOKEN = "test-token-5f1c"


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
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

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
