"""The Flask app: Wialon's ``/wialon/ajax.html`` plus the ``/_emulator/`` controls.

The API endpoint takes ``svc``, ``params`` (JSON) and ``sid`` from the query
string or from a urlencoded POST form, exactly like the real service, and
always answers ``Content-Type: application/json`` with no charset suffix:
python-wialon only decodes a reply whose Content-Type *equals*
``application/json`` and otherwise hands back raw bytes.
"""

from __future__ import annotations

import json

from flask import Flask, Response, request

from ..errors import Code
from . import services
from .control import control
from .state import ApiError, EmulatorState

API_PATH = "/wialon/ajax.html"
JSON_CONTENT_TYPE = "application/json"
# Batches of a few hundred sub-requests are far above Werkzeug's 500 kB default.
MAX_FORM_BYTES = 64 * 1024 * 1024

BAD_GATEWAY_PAGE = (
    "<html><head><title>{status} Bad Gateway</title></head>"
    "<body><center><h1>{status} Bad Gateway</h1></center><hr>"
    "<center>nginx</center></body></html>"
)


def json_reply(payload) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), status=200,
                    content_type=JSON_CONTENT_TYPE)


def _decode_params(raw: str | None):
    if raw is None or raw == "":
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(Code.INVALID_INPUT, "'params' is not valid JSON") from None


def _handle(state: EmulatorState, svc: str, raw_params: str | None, sid: str | None):
    params = _decode_params(raw_params)
    if svc == "token/login":
        state.pause()
        if not isinstance(params, dict):
            raise ApiError(Code.INVALID_INPUT, "'params' must be a JSON object")
        return services.token_login(state, params, request.remote_addr or "")
    with state.session_request(sid) as session:
        state.pause()
        return services.call(state, session, svc, params)


def create_app(state: EmulatorState) -> Flask:
    """A Flask app serving ``state`` as a Wialon Remote API endpoint."""
    app = Flask(__name__)
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_FORM_BYTES
    app.config["MAX_CONTENT_LENGTH"] = MAX_FORM_BYTES
    app.extensions["wialon_state"] = state
    app.register_blueprint(control)

    @app.route(API_PATH, methods=["GET", "POST"])
    def ajax() -> Response:
        broken_status = state.take_non_json()
        if broken_status is not None:
            return Response(BAD_GATEWAY_PAGE.format(status=broken_status),
                            status=broken_status, content_type="text/html")
        values = request.values  # query string and POST form together
        try:
            result = _handle(state, values.get("svc", ""), values.get("params"),
                             values.get("sid"))
        except ApiError as exc:
            result = exc.envelope()
        reply = json_reply(result)
        state.count_sent(reply.content_length or 0)
        return reply

    return app
