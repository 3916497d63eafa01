"""The callback endpoint the platform calls: `POST /tv24/<secret>/<name>?…`.

The platform signs nothing, so a callback is let in only when its path carries the
`callback_secret` of a 24h TV agent (which also says which agent, and so which provider
account, is calling) and it comes from one of that agent's `allowed_sources`. Then:
the method must be POST, the name one of auth, packet, delete_subscription, balance, the
body at most `max_callback_bytes` and JSON where one is expected, and every parameter
well-formed; each refusal is a JSON reply in the platform's format
(`{"status": <negative>, "err": <code>, "errmsg": "…"}`) with a 4xx status, never a 500.

A callback that passed the secret is written to the audit log (actor `plugin:tv24`,
action `tv24.<name>`) with its parameters and the reply: in the same transaction when it
succeeded, in its own when it was refused (the refusal rolled the work back). The work
is a few queries, well within the 5 seconds the platform waits.
"""
from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from core import Agent, ValidationError, audit
from plugin_tv24 import inbound, store
from plugin_tv24.agent import CODE, PHONE, PHONE_RULE, AgentSettings
from plugin_tv24.client import Tv24Error
from plugin_tv24.connections import client_for, timeouts
from plugin_tv24.store import PLUGIN

log = logging.getLogger("abonent.tv24.callbacks")
INTERNAL = -3  # the protocol's "tariff/packet not found or internal error"
CLAIM_TIMEOUT = 1.5  # seconds per step of setting provider_uid while the platform waits


class BadRequest(Exception):
    """The callback cannot be handled as sent; `field` names the culprit."""

    def __init__(self, http_status: int, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.http_status = http_status


def _error(http_status: int, message: str) -> tuple[Response, int]:
    return jsonify({"status": INTERNAL, "err": http_status, "errmsg": message}), http_status


# --- parameters -----------------------------------------------------------------------------

def _integer(value: Any, name: str, required: bool = True) -> int | None:
    if value is None or value == "":
        if required:
            raise BadRequest(400, name, "is required")
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"\d{1,18}", text):
        raise BadRequest(400, name, f"must be a whole number, not {text[:40]!r}")
    return int(text)


def _phone(value: Any) -> str:
    if not value:
        raise BadRequest(400, "phone", "is required")
    digits = re.sub(r"[\s()+\-]", "", str(value))
    if re.fullmatch(r"8\d{10}", digits):
        digits = "7" + digits[1:]  # the Russian trunk prefix
    if not re.fullmatch(PHONE, digits):
        raise BadRequest(400, "phone", f"{str(value)[:40]!r} {PHONE_RULE}")
    return digits


def _path(body: Any, *keys: str) -> Any:
    """body[k1][k2]…, None where a level is missing; a level that is not an object is
    refused naming the dotted path."""
    for depth, key in enumerate(keys):
        if body is None:
            return None
        if not isinstance(body, dict):
            raise BadRequest(400, ".".join(keys[:depth]) or "body", "must be a JSON object")
        body = body.get(key)
    return body


@dataclass(frozen=True)
class Call:
    """One callback: its parameters, cleaned, and the account it names (if any)."""

    name: str
    params: dict[str, Any]

    @property
    def account_id(self) -> int | None:
        return self.params.get("user_id")


def _parse(name: str, query, body: Any) -> Call:
    if name == "auth":
        return Call(name, {"phone": _phone(query.get("phone")), "ip": query.get("ip"),
                           "mbr_id": _integer(query.get("mbr_id"), "mbr_id", required=False)})
    params: dict[str, Any] = {"user_id": _integer(query.get("user_id"), "user_id")}
    if name == "packet":
        params["trf_id"] = _integer(query.get("trf_id"), "trf_id", required=False)
        params["packet_id"] = _integer(_path(body, "packet", "id"), "packet.id")
        params["price"] = _path(body, "packet", "price")
        params["platform_user_id"] = _integer(_path(body, "user", "id"), "user.id", required=False)
    elif name == "delete_subscription":
        params["sub_id"] = str(_integer(query.get("sub_id"), "sub_id"))
        params["packet_id"] = _integer(_path(body, "subscription", "packet", "id"),
                                       "subscription.packet.id", required=False)
    return Call(name, params)


HANDLERS: dict[str, Callable[..., dict[str, Any]]] = {
    "auth": lambda s, agent, p: inbound.auth(s, agent, p["phone"], p["mbr_id"]),
    "packet": lambda s, agent, p: inbound.packet(s, agent, p["user_id"], p["packet_id"],
                                                 p["platform_user_id"]),
    "delete_subscription": lambda s, agent, p: inbound.delete_subscription(
        s, agent, p["user_id"], p["sub_id"], p["packet_id"]),
    "balance": lambda s, agent, p: inbound.balance(s, agent, p["user_id"]),
}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
#: callbacks that carry a JSON body
WITH_BODY = ("packet", "delete_subscription")


# --- the request ----------------------------------------------------------------------------

def _agent_for(runtime, secret: str) -> AgentSettings | None:
    """The enabled 24h TV agent whose callback secret is `secret` (compared in constant
    time); agents with invalid settings are skipped."""
    with runtime.session() as session:
        agents = list(session.execute(select(Agent.id, Agent.settings).where(
            Agent.type == CODE, Agent.enabled.is_(True))))
    found = None
    for agent_id, raw in agents:
        try:
            settings = AgentSettings.of(agent_id, raw)
        except ValidationError:
            continue
        if hmac.compare_digest(settings.callback_secret.encode(), secret.encode()):
            found = settings
    return found


def _body(name: str, limit: int) -> Any:
    if request.content_length is not None and request.content_length > limit:
        raise BadRequest(413, "body", f"{request.content_length} bytes is more than {limit}")
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise BadRequest(413, "body", f"more than {limit} bytes")
    if name not in WITH_BODY or not data.strip():
        return None
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(400, "body", "is not valid JSON") from None
    except RecursionError:  # e.g. a thousand nested "[": deeper than any callback's body
        raise BadRequest(400, "body", "is nested too deeply") from None


def _run(runtime, agent: AgentSettings, call: Call, source: str, retry: bool = True
         ) -> dict[str, Any]:
    """The callback's work and its audit entry; run once more when a concurrent callback
    created the same row first (two `auth` of one phone)."""
    actor = f"plugin:{PLUGIN}"
    try:
        with runtime.session(actor=actor) as session:
            reply = HANDLERS[call.name](session, agent, call.params)
            _audit(session, agent, call, source, reply)
            return reply
    except inbound.Refusal as refusal:
        with runtime.session(actor=actor) as session:
            _audit(session, agent, call, source, refusal.reply())
        return refusal.reply()
    except (IntegrityError, inbound.Raced):
        if not retry:
            raise
        return _run(runtime, agent, call, source, retry=False)


def _claim(runtime, agent: AgentSettings, account_id: int, platform_user_id: int,
           config: dict[str, Any]) -> None:
    """Set the provider_uid of the app-registered user `auth` linked to the account (the
    platform leaves it empty), after the link is committed. The platform is waiting for
    the reply, so the call is short and a failure only logged: the reconciliation checks
    provider_uid and sets it."""
    with runtime.session() as session:
        if store.user_id(session, account_id) != platform_user_id:
            return  # the account has another platform user: not ours to rename
    connect, read = timeouts(config)
    client = client_for(agent, (min(connect, CLAIM_TIMEOUT), min(read, CLAIM_TIMEOUT)))
    try:
        user = client.get_user(platform_user_id)
        if user.get("provider_uid") != str(account_id):
            client.patch_user(platform_user_id, provider_uid=str(account_id))
    except Tv24Error as exc:
        log.warning("24h TV auth: provider_uid of platform user %s not set to account %s "
                    "(the reconciliation will): %s", platform_user_id, account_id, exc)


def _audit(session, agent: AgentSettings, call: Call, source: str, reply: dict) -> None:
    account_id = reply.get("user_id", call.account_id)
    audit(session, f"tv24.{call.name}", "account", account_id,
          {"agent_id": agent.agent_id, "source": source, "params": call.params, "reply": reply})


class _Anything(BaseConverter):
    """Any rest of a path, empty or starting with a slash (werkzeug's `path` wants
    neither)."""

    regex = ".*"
    part_isolating = False


def blueprint() -> Blueprint:
    """The callback routes. Every answer is JSON in the platform's format, also the
    web application's own refusals (a NUL in a parameter) and errors: the blueprint's
    handlers replace its HTML pages, and its routes keep doubled slashes as they came
    (`/tv24//balance` is an unknown callback URL, not a 308 to `/tv24/balance`)."""
    callbacks = Blueprint("tv24_callbacks", __name__, url_prefix="/tv24")

    @callbacks.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _error(exc.code or 500, exc.description or exc.name)

    @callbacks.errorhandler(Exception)
    def internal_error(exc: Exception):
        log.error("24h TV callback %s failed", request.path, exc_info=exc)
        return _error(500, "internal error; the billing logged it")

    @callbacks.route("/<secret>/<name>", methods=METHODS, merge_slashes=False)
    def callback(secret: str, name: str):
        runtime = current_app.extensions["abonent"]
        source = request.remote_addr or ""
        agent = _agent_for(runtime, secret)
        if agent is None:
            log.warning("24h TV callback %s from %s: unknown secret", name, source)
            return _error(404, "unknown callback URL")
        if not agent.allows(source):
            log.warning("24h TV callback %s for agent %s from %s: address not allowed",
                        name, agent.agent_id, source)
            return _error(403, f"address {source} is not allowed to call back")
        if request.method != "POST":
            return _error(405, f"{request.method}: callbacks are POST requests")
        if name not in HANDLERS:
            return _error(404, f"unknown callback {name!r}; known: {', '.join(HANDLERS)}")
        config = runtime.plugin_configs.get(PLUGIN, {})
        try:
            call = _parse(name, request.args, _body(name, config.get("max_callback_bytes", 65536)))
        except BadRequest as exc:
            return _error(exc.http_status, str(exc))
        try:
            reply = _run(runtime, agent, call, source)
            if call.name == "auth" and call.params["mbr_id"] is not None and "user_id" in reply:
                _claim(runtime, agent, reply["user_id"], call.params["mbr_id"], config)
            return jsonify(reply)
        except Exception:  # the protocol's "internal error": the platform gets JSON, we a log
            log.exception("24h TV callback %s %s failed", name, call.params)
            return jsonify({"status": INTERNAL, "err": 500,
                            "errmsg": "internal error; the billing logged it"})

    callbacks.record_once(lambda state: state.app.url_map.converters.setdefault(
        "anything", _Anything))

    @callbacks.route("/", defaults={"rest": ""}, methods=METHODS, strict_slashes=False)
    @callbacks.route("/<anything:rest>", methods=METHODS, merge_slashes=False)
    def elsewhere(rest: str):
        return _error(404, "unknown callback URL")

    return callbacks
