"""Serving the emulator on a real socket, in a background thread.

Tests and the demo talk to the emulator over TCP exactly as the billing talks to the
platform. The server keeps HTTP/1.1 connections alive so that a ``requests.Session`` reuses its
connection between calls, as it does in production.
"""

from __future__ import annotations

import io
import re
import socket
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_app
from .callbacks import CallbackClient
from .catalog import Packet
from .faults import Faults
from .state import Tv24State

_POLL_INTERVAL = 0.05  # how soon stop() is noticed (socketserver's default is 0.5 s)
_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s]*")


class _KeepAliveRequestHandler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive and TCP_NODELAY, and an access log without the provider
    token.

    ``protocol_version = "HTTP/1.1"`` alone is not enough with werkzeug 3: after each
    answer its handler drains whatever the socket still holds (which, on a kept-alive
    connection, is the client's next request) and it sends ``Connection: close``. Here
    the request body is read up front (``Content-Length``) and the application, and
    werkzeug's drain, get that body as their input file instead of the socket; the
    connection then stays open. Requests with a chunked body or ``Expect`` keep werkzeug's
    close-after-answer behaviour. This is a subclass rather than a change to
    ``WSGIRequestHandler`` itself, which would alter every werkzeug server in the process.
    """

    protocol_version = "HTTP/1.1"
    _keep_alive = False

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; with Nagle's algorithm the body
        # would wait for the client's delayed ACK of the headers (~40 ms per call on a
        # kept-alive connection). Front servers of real platforms (nginx) set this too.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        length = self.headers.get("Content-Length", "0")
        self._keep_alive = (
            length.isdigit() and "Transfer-Encoding" not in self.headers and "Expect" not in self.headers
        )
        if not self._keep_alive:
            return super().run_wsgi()
        socket_file, self.rfile = self.rfile, io.BytesIO(self.rfile.read(int(length)))
        try:
            return super().run_wsgi()
        finally:
            self.rfile = socket_file

    def send_header(self, keyword: str, value: str) -> None:
        if self._keep_alive and keyword.lower() == "connection" and value.lower() == "close":
            return  # a client's own "Connection: close" still closes (http.server sees to it)
        super().send_header(keyword, value)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path, self.path = self.path, _TOKEN_IN_QUERY.sub(r"\1***", self.path)
        try:
            super().log_request(code, size)
        finally:
            self.path = path


class Tv24Emulator:
    """The 24h TV platform, emulated: ``start()`` it, point a client at ``url``.

    ``state`` and ``faults`` are live objects tests may inspect and steer; ``callbacks``
    (a :class:`CallbackClient`, set from ``callback_url`` or assigned later) makes the
    calls the platform makes to the billing. ``port=0`` picks a free port; ``port``
    tells which one after ``start()``.
    """

    def __init__(
        self,
        token: str = "demo-token",
        packets: Iterable[Packet | Mapping[str, Any]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        callback_url: str | None = None,
    ):
        self.token = token
        self.host = host
        self.port = port
        self.state = Tv24State(packets)
        self.faults = Faults()
        self.callbacks = CallbackClient(callback_url) if callback_url else None
        self.app = create_app(self.state, self.faults, token)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL of the provider API, e.g. ``http://127.0.0.1:8124``."""
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return f"http://{self.host}:{self.port}"

    def start(self) -> Tv24Emulator:
        if self._server is not None:
            raise RuntimeError(f"the emulator is already running at {self.url}")
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_KeepAliveRequestHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"tv24-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; the state is kept, and ``start()`` serves
        it again on the same port (a platform outage seen as refused connections)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def reset(self) -> None:
        """Forget users, subscriptions, the request log and all faults."""
        self.state.reset()
        self.faults.clear()

    def __enter__(self) -> Tv24Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
