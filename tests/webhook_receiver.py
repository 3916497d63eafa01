"""An integrator's webhook endpoint for the tests: a real HTTP server on a free port in a
thread that checks every request's `Abonent-Signature` as docs/webhooks.md tells an
integrator to (HMAC-SHA256 of "<t>.<body>" with the endpoint's secret, `t` within the
tolerance), answers 400 to a bad one, and records what came in order.

`script(...)` gives the answers of the next requests, in turn: an HTTP status (a 3xx
points back at the receiver), or "drop" (read the request, then close the connection
without answering); then 200 again.
A test module takes the `receivers` fixture with `from webhook_receiver import receivers`.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

TOLERANCE = 300  # seconds, as Stripe's libraries default to


def verify(secret: str, header: str, body: bytes, tolerance: int = TOLERANCE) -> bool:
    """What an integrator writes (docs/webhooks.md): the signature and its freshness."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    if not parts.get("t", "").isdigit() or abs(time.time() - int(parts["t"])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True)
class Received:
    body: dict[str, Any]
    headers: dict[str, str]
    signed: bool
    answer: int | str

    @property
    def type(self) -> str:
        return self.body["type"]


class Receiver:
    def __init__(self):
        self.secret = ""  # set once the endpoint is made
        self.received: list[Received] = []
        self._answers: deque[int | str] = deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                signed = verify(receiver.secret, self.headers.get("Abonent-Signature", ""),
                                body)
                with receiver._lock:
                    answer = receiver._answers.popleft() if receiver._answers else 200
                    answer = answer if signed else 400
                    receiver.received.append(Received(json.loads(body), dict(self.headers),
                                                      signed, answer))
                if answer == "drop":
                    self.close_connection = True
                    return
                text = b"gone for good" if answer == 410 else b"ok"
                self.send_response(answer)
                if 300 <= answer < 400:  # to itself: a client that follows comes back
                    self.send_header("Location", receiver.url)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *_args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def script(self, *answers: int | str) -> None:
        with self._lock:
            self._answers.extend(answers)

    def accepted(self) -> list[Received]:
        """The requests answered 2xx, in the order they came."""
        return [r for r in self.received if isinstance(r.answer, int) and r.answer < 300]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receivers():
    """receivers() → a new running Receiver; all are stopped after the test."""
    made: list[Receiver] = []

    def make() -> Receiver:
        made.append(Receiver())
        return made[-1]
    yield make
    for receiver in made:
        receiver.close()
