"""The platform fault kit: a loopback HTTP proxy that makes a platform misbehave on cue.

A platform that is tens of milliseconds away fails in a few ways that an emulator which
always answers at once never shows, and each of them has cost real operators money:

- it answers an error status for a while (a 503 during a deploy, a 429 when throttled);
- it hangs, and the client gives up after its read timeout;
- it applies a call and then loses the answer (a proxy or load balancer in between
  times out, the connection drops): the retry finds the work already done, and must
  treat "already exists" / "already ended" as success, never as a dead letter;
- it sends a garbled body (truncated JSON or XML).

`FaultProxy(upstream)` sits between a plugin's client and the platform (its emulator, or
a real sandbox): point the client at `proxy.url` and arm faults for the next calls that
match. Every call that passes is listed in `proxy.calls`, faulted or not, so a test can
also assert what was sent (and that nothing was sent twice). It speaks plain HTTP/1.1
and so covers every HTTP platform (REST, JSON-RPC, XML-RPC); a UDP platform (RADIUS)
needs a kit of its own.

    with FaultProxy(emulator.url) as proxy:
        plugin_config["api_url"] = proxy.url
        proxy.lose_answer(match="DELETE /v2/users/")   # applied, then 503
        drain()                                         # first attempt: RetryLater
        drain()                                         # retry: "already ended" → done
        assert [c.fault for c in proxy.calls] == ["lose_answer", None, ...]

`match` picks the calls a fault applies to: None (any call), "METHOD /path-prefix",
"/path-prefix" (any method), or a callable(method, path, body) -> bool (for XML-RPC,
where every call is a POST to one path, look into the body). Faults are used in the order
they were armed; each applies to `times` matching calls, then is spent.
"""
from __future__ import annotations

import http.client
import select
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Union
from urllib.parse import urlsplit

Match = Union[str, Callable[[str, str, bytes], bool], None]
#: Headers that belong to one hop, not to the request or answer being passed on.
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
        "upgrade", "content-length", "host"}


@dataclass
class Call:
    """One request that reached the proxy: what it asked, what the client was answered
    (None when it got no answer at all), and the fault applied (None: passed through)."""

    method: str
    path: str
    body: bytes
    status: int | None
    fault: str | None
    forwarded: bool


@dataclass
class _Fault:
    kind: str
    times: int
    match: object
    status: int | None = None
    body: bytes = b""
    seconds: float | None = None

    def matches(self, method: str, path: str, body: bytes) -> bool:
        if self.match is None:
            return True
        if callable(self.match):
            return bool(self.match(method, path, body))
        wanted_method, _, prefix = str(self.match).rpartition(" ")
        return ((not wanted_method or wanted_method.upper() == method)
                and path.startswith(prefix))


class FaultProxy:
    """A threaded HTTP proxy on 127.0.0.1 (an ephemeral port) in front of `upstream`."""

    def __init__(self, upstream: str, timeout: float = 30.0):
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, not {upstream!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.upstream_path = parts.path.rstrip("/")
        self.timeout = timeout
        self.calls: list[Call] = []
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- life ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where the client should point instead of the upstream (same path prefix)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.upstream_path}"

    def start(self) -> "FaultProxy":
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="fault-proxy")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hanging requests
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- arming ----------------------------------------------------------------------

    def error(self, status: int = 503, times: int = 1, match: Match = None,
              body: bytes | str = b"") -> "FaultProxy":
        """Answer `status` (with `body`) without passing the call on: nothing applied."""
        return self._arm(_Fault("error", times, match, status=status, body=_bytes(body)))

    def hang(self, times: int = 1, match: Match = None,
             seconds: float | None = None) -> "FaultProxy":
        """Hold the call unanswered (and not passed on) until the client gives up and
        closes the connection, `seconds` pass, or the proxy stops; then drop it."""
        return self._arm(_Fault("hang", times, match, seconds=seconds))

    def lose_answer(self, times: int = 1, match: Match = None,
                    status: int | None = 503) -> "FaultProxy":
        """Pass the call on (the platform applies it), then answer `status` instead of the
        platform's answer, or drop the connection with no answer when `status` is None."""
        return self._arm(_Fault("lose_answer", times, match, status=status))

    def garble(self, times: int = 1, match: Match = None) -> "FaultProxy":
        """Pass the call on, then send the platform's answer cut in half (its status and
        headers kept, Content-Length fitting the cut body): truncated JSON or XML."""
        return self._arm(_Fault("garble", times, match))

    def clear(self) -> None:
        """Disarm every fault and forget the calls seen."""
        with self._lock:
            self._faults.clear()
            self.calls.clear()

    @property
    def armed(self) -> int:
        """How many faulty answers are still to be given."""
        with self._lock:
            return sum(f.times for f in self._faults)

    def _arm(self, fault: _Fault) -> "FaultProxy":
        if fault.times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(fault)
        return self

    def _take(self, method: str, path: str, body: bytes) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, body):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    # -- passing a call on -----------------------------------------------------------

    def forward(self, method: str, path: str, headers, body: bytes):
        """Send the call to the upstream; returns (status, reason, headers, body)."""
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port,
                                                timeout=self.timeout)
        try:
            passed = {k: v for k, v in headers.items() if k.lower() not in _HOP}
            passed["Host"] = f"{self.upstream_host}:{self.upstream_port}"
            connection.request(method, path, body=body or None, headers=passed)
            answer = connection.getresponse()
            return answer.status, answer.reason, answer.getheaders(), answer.read()
        finally:
            connection.close()

    def wait_for_hangup(self, sock: socket.socket, seconds: float | None) -> None:
        """Block until the client closes `sock`, `seconds` pass or the proxy stops."""
        waited = 0.0
        while not self._stopping.is_set() and (seconds is None or waited < seconds):
            readable, _, _ = select.select([sock], [], [], 0.05)
            waited += 0.05
            if readable:
                try:
                    if not sock.recv(1, socket.MSG_PEEK):
                        return
                except OSError:
                    return


def _bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def _handler_for(proxy: FaultProxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # the calls are in proxy.calls
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while (size := int(self.rfile.readline().split(b";")[0], 16)):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self, status: int, headers, body: bytes, reason: str | None = None) -> None:
            self.send_response(status, reason)
            for name, value in headers:
                if name.lower() not in _HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _serve(self) -> None:
            method, path, body = self.command, self.path, self._body()
            fault = proxy._take(method, path, body)
            kind = fault.kind if fault else None
            if kind == "error":
                proxy._record(Call(method, path, body, fault.status, kind, False))
                self._answer(fault.status, [("Content-Type", "text/plain")], fault.body)
                return
            if kind == "hang":
                proxy._record(Call(method, path, body, None, kind, False))
                proxy.wait_for_hangup(self.connection, fault.seconds)
                self._drop()
                return
            try:
                status, reason, headers, answer = proxy.forward(method, path, self.headers, body)
            except OSError as exc:  # the upstream itself is down: say so as a gateway would
                proxy._record(Call(method, path, body, 502, kind, False))
                self._answer(502, [("Content-Type", "text/plain")], f"upstream: {exc}".encode())
                return
            if kind == "lose_answer":
                proxy._record(Call(method, path, body, fault.status, kind, True))
                if fault.status is None:
                    self._drop()
                else:
                    self._answer(fault.status, [("Content-Type", "text/plain")], b"")
                return
            if kind == "garble":
                answer = answer[:len(answer) // 2]
            proxy._record(Call(method, path, body, status, kind, True))
            self._answer(status, headers, answer, reason)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    return Handler
