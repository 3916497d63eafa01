"""HTTP control endpoints under ``/_emulator/`` for an emulator in another process.

They mirror the Python fault-injection API of ``EmulatorState`` so a test or a
demo can break an emulator started with ``python -m plugin_wialon.emulator``.
All take a JSON body and answer JSON; a bad body answers HTTP 400 with
``{"error": "<what is wrong>"}``.

    GET  /_emulator/state            counts, limits, active faults, stats
    POST /_emulator/accounts         {"account_id": 777, "units": 6}
    POST /_emulator/fail_accounts    {"accounts": {"777": 7}, "times": null}
    POST /_emulator/fail_logins      {"code": 1003, "times": 2}
    POST /_emulator/non_json         {"count": 3, "status": 502}
    POST /_emulator/expire_sessions  {"code": 1}    (or 1011)
    POST /_emulator/invalidate_token {"token": "..."}
    POST /_emulator/delay            {"seconds": 0.5}
    POST /_emulator/reset_faults     {}
"""

from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import Blueprint, current_app, jsonify, request

from ..errors import Code
from .state import EmulatorState

control = Blueprint("wialon_emulator_control", __name__, url_prefix="/_emulator")


def _state() -> EmulatorState:
    return current_app.extensions["wialon_state"]


def _command(view: Callable[[EmulatorState, dict], dict | None]):
    """POST endpoint: hand the JSON body to ``view``; bad input becomes HTTP 400."""

    @wraps(view)
    def endpoint():
        body = request.get_json(silent=True)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return jsonify(error="the body must be a JSON object"), 400
        try:
            answer = view(_state(), body)
        except (KeyError, TypeError, ValueError) as exc:
            return jsonify(error=f"bad request body for {request.path}: {exc!r}"), 400
        return jsonify(answer or {"ok": True})

    return control.route(f"/{view.__name__}", methods=["POST"])(endpoint)


@control.get("/state")
def show_state():
    return jsonify(_state().snapshot())


@_command
def accounts(state: EmulatorState, body: dict):
    account = state.add_account(int(body["account_id"]), int(body.get("units", 6)),
                                body.get("name"))
    return {"ok": True, "account_id": account.id, "units": account.units}


@_command
def fail_accounts(state: EmulatorState, body: dict):
    times = body.get("times")
    state.fail_accounts({int(k): int(v) for k, v in body["accounts"].items()},
                        None if times is None else int(times))


@_command
def fail_logins(state: EmulatorState, body: dict):
    times = body.get("times")
    state.fail_logins(int(body.get("code", Code.ONE_REQUEST_AT_A_TIME)),
                      None if times is None else int(times))


@_command
def non_json(state: EmulatorState, body: dict):
    state.serve_non_json(int(body.get("count", 1)), int(body.get("status", 502)))


@_command
def expire_sessions(state: EmulatorState, body: dict):
    code = int(body.get("code", Code.INVALID_SESSION))
    return {"ok": True, "expired": state.expire_sessions(code)}


@_command
def invalidate_token(state: EmulatorState, body: dict):
    state.invalidate_token(str(body["token"]))


@_command
def delay(state: EmulatorState, body: dict):
    state.set_delay(float(body["seconds"]))


@_command
def reset_faults(state: EmulatorState, body: dict):
    state.reset_faults()
