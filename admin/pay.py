"""`/pay/<gateway>/`: where payment systems call (core.gateways does the work).

No manager logs in here and no form carries a CSRF token: a payment system proves itself
by its signature (and, when configured, its address), which core.gateways checks. Each
gateway has its own rate limit per calling address (`rate_limit` requests a second); a
call above it is answered 429 before anything reads the database, so a flood of forged
requests costs no audit rows. An unknown gateway is a 404 that names nothing configured.
"""
from __future__ import annotations

import threading
import time

from flask import Blueprint, Response, abort, request

from core.gateways import Gateway, GatewayRequest, configured, handle
from core.runtime import Runtime

#: a request body larger than this is refused: the calls carry a handful of parameters
MAX_BODY = 16 * 1024


class RateLimit:
    """At most `per_second` calls a second per key (a fixed one-second window each)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}

    def allow(self, key: tuple[str, str], per_second: int) -> bool:
        second = int(time.monotonic())
        with self._lock:
            if len(self._windows) > 10_000:  # forget the past seconds of every caller
                self._windows = {k: v for k, v in self._windows.items() if v[0] == second}
            start, count = self._windows.get(key, (second, 0))
            if start != second:
                start, count = second, 0
            self._windows[key] = (start, count + 1)
            return count < per_second


def blueprint(runtime: Runtime) -> Blueprint:
    """The gateways' endpoint; their configuration is checked now (a bad key stops the
    web process's start-up, naming it)."""
    gateways = configured(runtime)
    limits = RateLimit()
    pay = Blueprint("pay", __name__, url_prefix="/pay")

    @pay.route("/<name>/", methods=["GET", "POST"])
    def call(name: str) -> Response:
        gateway: Gateway | None = gateways.get(name)
        if gateway is None:
            abort(404)
        if not limits.allow((name, request.remote_addr or ""), gateway.config["rate_limit"]):
            return Response("too many requests\n", 429, {"Retry-After": "1"},
                            content_type="text/plain; charset=utf-8")
        if (request.content_length or 0) > MAX_BODY:
            abort(413)
        args = [*request.args.items(multi=True), *request.form.items(multi=True)]
        answer = handle(runtime, gateway, GatewayRequest(
            request.method, tuple(args), dict(request.headers), request.remote_addr))
        return Response(answer.body, answer.status, content_type=answer.content_type)

    return pay
