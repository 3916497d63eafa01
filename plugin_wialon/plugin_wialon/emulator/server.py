"""Run the emulator on a real socket, in a background thread.

Tests and the billing's client talk to it over TCP exactly as they would to
hst-api.wialon.com, so concurrency limits, timeouts and non-JSON replies are
exercised for real.

The handler answers in HTTP/1.1 like the real service, but Werkzeug (since
2.1) sends ``Connection: close`` on every response and drains the socket for
~10 ms afterwards: its development server does not support keep-alive.  So
every request is a fresh TCP connection here, which clients handle fine.
"""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ..errors import Code
from .app import API_PATH, create_app
from .state import Account, EmulatorState

# How often the serving loop checks for stop(); werkzeug's 0.5 s default makes
# every stop() in a test suite cost half a second.
SHUTDOWN_POLL_SECONDS = 0.05


class _Http11Handler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"


class _QuietHttp11Handler(_Http11Handler):
    """Same, without one access-log line per request (tests make thousands)."""

    def log_request(self, code="-", size="-") -> None:
        pass


class WialonEmulator:
    """A Wialon Remote API emulator listening on ``host:port`` (0 = any free port).

    ``tokens`` maps each accepted 72-character token to a user name.  Seed it
    with ``add_account``; break it with ``expire_sessions`` and the other
    fault switches on ``.state``.  Use as a context manager, or start()/stop().
    """

    def __init__(
        self,
        tokens: dict[str, str],
        host: str = "127.0.0.1",
        port: int = 0,
        session_idle_timeout: float = 300.0,
        *,
        max_concurrent_requests: int = 10,
        access_log: bool = False,
    ):
        self.state = EmulatorState(
            tokens,
            session_idle_timeout=session_idle_timeout,
            max_concurrent_requests=max_concurrent_requests,
        )
        self._host = host
        self._port = port
        self._handler = _Http11Handler if access_log else _QuietHttp11Handler
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8125``; the API is at ``url + API_PATH``."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def api_url(self) -> str:
        return self.url + API_PATH

    @property
    def port(self) -> int:
        return self._server.server_port if self._server else self._port

    def start(self) -> "WialonEmulator":
        if self._server is not None:
            return self
        self._server = make_server(self._host, self._port, create_app(self.state),
                                   threaded=True, request_handler=self._handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
                                        name=f"wialon-emulator:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (for the CLI)."""
        self.start()
        try:
            self._thread.join()
        finally:
            self.stop()

    def __enter__(self) -> "WialonEmulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # The two calls tests reach for most; everything else is on ``.state``.
    def add_account(self, account_id: int, units: int = 6, name: str | None = None) -> Account:
        return self.state.add_account(account_id, units, name)

    def expire_sessions(self, code: int = Code.INVALID_SESSION) -> int:
        return self.state.expire_sessions(code)
