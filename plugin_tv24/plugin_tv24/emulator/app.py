"""The Flask application that speaks the 24h TV provider API.

Two blueprints: ``/v2/...``, the provider API paths the billing uses, with the spec's
status codes and bodies; and ``/_emulator/...``, control endpoints that are no part of
the platform (state, reset, faults), for tests and for an emulator run as its own
process.

Authentication: every ``/v2`` call needs ``?token=<provider token>``. The spec documents
no error responses; the emulator answers a missing or unknown token with **401** in the
platform's error envelope (``{"error": {"message": ...}, "status_code": 401}``): the
caller is not authenticated, which is what 401 means (403 would say "authenticated but
not allowed"). Every error, 404 and 405 included, uses that envelope.
"""

from __future__ import annotations

import hmac
import json
import time
from dataclasses import asdict
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from . import forms, render
from .errors import ApiError
from .faults import Faults
from .state import RequestRecord, Tv24State
from .strict import StrictRequests

USER_FILTERS = ("phone", "username", "provider_uid", "email")
RETRY_AFTER_SECONDS = 1
_PROXY_DOWN_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def create_app(state: Tv24State, faults: Faults, token: str) -> Flask:
    app = Flask("plugin_tv24.emulator")
    app.json.ensure_ascii = False
    app.register_blueprint(_api(state, faults, token, StrictRequests()))
    app.register_blueprint(_control(state, faults))

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[Response, int]:
        return jsonify(error.body()), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        return api_error(ApiError(error.code or 500, f"{error.name}."))

    return app


def _api(state: Tv24State, faults: Faults, token: str, strict: StrictRequests) -> Blueprint:
    api = Blueprint("tv24_api", __name__, url_prefix="/v2")

    @api.before_request
    def inject_faults_and_authenticate() -> Any:
        """Faults first (an overloaded platform fails before it looks at credentials),
        then the provider token, then whatever the OpenAPI document does not allow."""
        if faults.is_down:
            return Response(_PROXY_DOWN_PAGE, 502, content_type="text/html")
        delay, status = faults.take()
        time.sleep(delay)
        if status is not None:
            failure = jsonify(ApiError(status, f"Injected failure (HTTP {status}).").body())
            failure.status_code = status
            if status == 429:  # throttled, as DRF does it: say when to come back
                failure.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return failure
        given = request.args.get("token")
        if not given:
            raise ApiError(401, "Authentication credentials were not provided.")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise ApiError(401, "Invalid token.")
        body = request.get_json(silent=True)  # not JSON: the route's own parse error says so
        strict.check(request.method, request.path, request.args.items(multi=True), body,
                     has_body=body is not None)
        return None

    @api.after_request
    def log_request(response: Response) -> Response:
        query = {key: value for key, value in request.args.items() if key != "token"}
        body = request.get_json(silent=True) if request.data else None
        client = f"{request.remote_addr}:{request.environ.get('REMOTE_PORT')}"
        state.record(RequestRecord(request.method, request.path, query, body, response.status_code, client))
        return response

    def _subscriptions(user_id: int | str, kinds: tuple[str, ...] | None) -> list[dict] | None:
        """The user's subscriptions of ``kinds``, rendered (``None``: not asked for)."""
        if kinds is None:
            return None
        window = forms.subscription_window(request.args)
        with state.lock:
            now = state.clock()
            return [render.subscription(sub, now)
                    for sub in state.user_subscriptions(user_id, kinds, window)]

    # -- users -------------------------------------------------------------------------

    @api.get("/users")
    def list_users() -> Response:
        limit, offset = forms.page(request.args)
        kinds = forms.subscription_kinds(request.args, "subscriptions")
        filters = {name: request.args[name] for name in USER_FILTERS if request.args.get(name)}
        with state.lock:
            users = state.find_users(filters)[offset:offset + limit]
            return jsonify([render.user(user, _subscriptions(user.id, kinds)) for user in users])

    @api.post("/users")
    def create_user() -> tuple[Response, int]:
        user = state.create_user(forms.user_fields(_json_body(empty={})))
        return jsonify(render.user(user)), 201

    @api.get("/users/<user_id>")
    def get_user(user_id: str) -> Response:
        return jsonify(render.user(state.get_user(user_id)))

    @api.patch("/users/<user_id>")
    def patch_user(user_id: str) -> Response:
        user = state.update_user(user_id, forms.user_fields(_json_body(empty={}), partial=True))
        return jsonify(render.user(user))

    @api.delete("/users/<user_id>")
    def delete_user(user_id: str) -> tuple[str, int]:
        state.deactivate_user(user_id)
        return "", 204

    # -- packets -----------------------------------------------------------------------

    @api.get("/packets")
    def list_packets() -> Response:
        catalog = state.packets if "availables" in forms.includes(request.args) else None
        return jsonify([render.packet(packet, catalog) for packet in state.packets.values()])

    # -- subscriptions -----------------------------------------------------------------

    @api.get("/users/<user_id>/subscriptions")
    def list_subscriptions(user_id: str) -> Response:
        kinds = forms.subscription_kinds(request.args, "types") or ("all",)
        return jsonify(_subscriptions(user_id, kinds))

    @api.post("/users/<user_id>/subscriptions")
    def create_subscriptions(user_id: str) -> tuple[Response, int]:
        created = state.create_subscriptions(user_id, forms.new_subscriptions(_json_body()))
        now = state.clock()
        return jsonify([render.subscription(sub, now) for sub in created]), 201

    @api.patch("/users/<user_id>/subscriptions/<subscription_id>")
    def patch_subscription(user_id: str, subscription_id: str) -> Response:
        renew = forms.renew_flag(_json_body(empty={}))
        with state.lock:
            sub = state.get_subscription(user_id, subscription_id)
            if renew is not None:
                sub = state.set_renew(user_id, subscription_id, renew)
            return jsonify(render.subscription(sub, state.clock()))

    @api.delete("/users/<user_id>/subscriptions/<subscription_id>")
    def delete_subscription(user_id: str, subscription_id: str) -> tuple[str, int]:
        state.end_subscription(user_id, subscription_id)
        return "", 204

    # -- pauses ------------------------------------------------------------------------

    @api.post("/users/<user_id>/subscriptions/<subscription_id>/pauses")
    def pause_subscription(user_id: str, subscription_id: str) -> tuple[Response, int]:
        return jsonify(render.pause(state.pause(user_id, subscription_id))), 201

    @api.delete("/users/<user_id>/subscriptions/<subscription_id>/pauses/<pause_id>")
    def unpause_subscription(user_id: str, subscription_id: str, pause_id: str) -> tuple[str, int]:
        state.unpause(user_id, subscription_id, pause_id)
        return "", 204

    @api.post("/users/<user_id>/pauses")
    def pause_all(user_id: str) -> tuple[Response, int]:
        return jsonify([render.pause(pause) for pause in state.pause_all(user_id)]), 201

    @api.delete("/users/<user_id>/pauses/delete")
    def unpause_all(user_id: str) -> tuple[str, int]:
        state.unpause_all(user_id)
        return "", 204

    return api


def _control(state: Tv24State, faults: Faults) -> Blueprint:
    control = Blueprint("tv24_control", __name__, url_prefix="/_emulator")

    @control.get("/state")
    def snapshot() -> Response:
        with state.lock:
            now = state.clock()
            return jsonify({
                "packets": [render.packet(packet, state.packets) for packet in state.packets.values()],
                "users": [render.user(user) for user in state.users.values()],
                "subscriptions": [{"user_id": sub.user_id, **render.subscription(sub, now)}
                                  for sub in state.subscriptions.values()],
                "requests": [asdict(entry) for entry in state.requests],
                "faults": faults.snapshot(),
            })

    @control.post("/reset")
    def reset() -> tuple[str, int]:
        """Forget everything but the packets; ``{"demo": true}`` seeds the demo subscribers."""
        options = _json_body(empty={})
        state.reset()
        faults.clear()
        if options.get("demo"):
            state.seed_demo()
        return "", 204

    @control.post("/faults")
    def set_faults() -> Response:
        """Body: any of ``{"clear": true, "down": bool, "fail_next": {"count", "status"},
        "delay_next": {"count", "seconds"}, "latency": seconds}``; answers the faults now queued."""
        order = _json_body()
        if not isinstance(order, dict):
            raise ApiError(400, 'Expected a JSON object like {"fail_next": {"count": 1, "status": 503}}.')
        try:
            if order.get("clear"):
                faults.clear()
            if order.get("down") is True:
                faults.down()
            elif order.get("down") is False:
                faults.up()
            if "fail_next" in order:
                faults.fail_next(int(order["fail_next"].get("count", 1)), int(order["fail_next"].get("status", 503)))
            if "delay_next" in order:
                faults.delay_next(int(order["delay_next"].get("count", 1)), float(order["delay_next"]["seconds"]))
            if "latency" in order:
                faults.set_latency(float(order["latency"]))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ApiError(400, f"Bad fault order {order!r}: {exc!r}") from None
        return jsonify(faults.snapshot())

    return control


def _json_body(empty: Any = None) -> Any:
    """The request's JSON, or ``empty`` when there is no body."""
    if not request.data:
        return empty
    try:
        return json.loads(request.data)
    except ValueError:
        raise ApiError(400, "JSON parse error: the body is not valid JSON.") from None
