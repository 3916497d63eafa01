"""Serving the emulated SMS over a real socket, in a background thread.

An HTTP/1.1 server (threads, kept-alive connections) takes XML-RPC POSTs at SGT's paths
(`/sms/xmlrpc` production, `/test/xmlrpc` sandbox), parses them with the standard
library's XML-RPC, and answers with the result or a fault, as the SMS does. A request that
is not XML-RPC at all gets a fault too (the SMS's PHP server answers one), never a
traceback. A :class:`~plugin_jambox.emulator.methods.Streamed` answer goes out chunked.
Misbehaviour on cue (errors, hangs, lost and garbled answers) is the fault kit's job:
put `plugins.faults.FaultProxy` in front of `url`.
"""
from __future__ import annotations

import socket
import threading
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.parsers.expat import ExpatError

from .methods import BAD_ARGUMENTS, Streamed, dispatch
from .state import Sms

PATHS = ("/sms/xmlrpc", "/test/xmlrpc")
_POLL_INTERVAL = 0.05


def answer(sms: Sms, body: bytes) -> bytes | Streamed:
    """The SMS's reply to one XML-RPC request body."""
    try:
        try:
            params, name = xmlrpc.client.loads(body, use_builtin_types=True)
        except (ExpatError, ValueError, TypeError, xmlrpc.client.ResponseError) as exc:
            raise xmlrpc.client.Fault(BAD_ARGUMENTS, f"Niepoprawne żądanie XML-RPC: {exc}") from None
        if not name:
            raise xmlrpc.client.Fault(BAD_ARGUMENTS, "Niepoprawne żądanie XML-RPC: brak metody")
        result = dispatch(sms, name, params)
    except xmlrpc.client.Fault as fault:
        return xmlrpc.client.dumps(fault, allow_none=True, encoding="utf-8").encode("utf-8")
    if isinstance(result, Streamed):
        return result
    return xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True,
                               encoding="utf-8").encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, *args) -> None:  # the calls are in sms.calls
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(405, b"")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?")[0].rstrip("/") not in PATHS:
            self._send(404, b"")
            return
        reply = answer(self.server.sms, body)
        if isinstance(reply, bytes):
            self._send(200, reply)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in reply.chunks:
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")


class _Server(ThreadingHTTPServer):
    """Keeps its open connections, so that stopping ends the kept-alive ones too (a
    stopped SMS answers nothing, on old connections neither)."""

    daemon_threads = True
    sms: Sms

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()

    def drop_connections(self) -> None:
        with self.lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class JamboxEmulator:
    """The SMS, emulated: ``start()`` it, point a :class:`JamboxClient` at ``url`` with
    ``login`` / ``password``. ``sms`` is the live state tests inspect and steer;
    ``port=0`` picks a free port."""

    def __init__(self, login: str = "demo", password: str = "demo", host: str = "127.0.0.1",
                 port: int = 0, sms: Sms | None = None):
        self.login, self.password = login, password
        self.host, self.port = host, port
        self.sms = sms or Sms(login, password)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The production path, e.g. ``http://127.0.0.1:8126/sms/xmlrpc``."""
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return f"http://{self.host}:{self.port}{PATHS[0]}"

    def start(self) -> "JamboxEmulator":
        if self._server is not None:
            raise RuntimeError(f"the emulator is already running at {self.url}")
        self._server = _Server((self.host, self.port), _Handler)
        self._server.sms = self.sms
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": _POLL_INTERVAL},
                                        name=f"jambox-emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; the state is kept and ``start()`` serves it again on the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> "JamboxEmulator":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
