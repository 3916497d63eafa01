"""Who is asking: every API request carries `Authorization: Bearer <token>` of a live
key (401 otherwise), stays within the key's rate limit (429 with Retry-After) and, per
operation, needs a permission of the key's role (403), as a manager of that role would.
"""
from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

from flask import current_app, g, request
from sqlalchemy.orm import Session

from api import keys
from api.errors import answer
from api.ratelimit import RateLimiter
from core.clock import now

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="abonent"'}


@dataclass(frozen=True)
class Caller:
    """The key a request came with, read once (the request's transaction acts as it)."""

    id: int
    name: str
    permissions: frozenset[str]

    @property
    def actor(self) -> str:
        return f"api:{self.name}"


def limiter() -> RateLimiter:
    return current_app.extensions["abonent_api"]["limiter"]


def identify():
    """before_request of every resource blueprint: None lets the request through.

    The key is looked up in the request's one transaction (`request_session`), which the
    view goes on with: a read costs one BEGIN and one ROLLBACK, not a transaction for
    the key and another for the view. The key's last use, when due, is committed here."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return answer(401, "an API key is required: Authorization: Bearer <token>",
                      headers=CHALLENGE)
    session = _open_session()
    asked_at = now()
    key = keys.authenticate(session, token.strip())
    if key is None:
        return answer(401, "the API key is unknown or revoked", headers=CHALLENGE)
    if key.last_used_at is not None and key.last_used_at >= asked_at:
        session.commit()  # the last use, written at most once a minute
    caller = Caller(key.id, key.name, frozenset(key.role.permissions or ()))
    wait = limiter().wait(caller.id, key.rate_limit)
    if wait:
        return answer(429, f"this key may make {key.rate_limit} requests a minute",
                      headers={"Retry-After": str(wait)})
    g.api_caller = caller
    session.info["actor"] = caller.actor  # the audit log names the key
    return None


def _open_session() -> Session:
    """The request's session (rolled back and closed by `end_request`)."""
    g.api_request = ExitStack()
    g.api_request_session = g.api_request.enter_context(
        current_app.extensions["abonent"].session(actor="api", commit=False))
    return g.api_request_session


def request_session() -> Session:
    return g.api_request_session


def end_request(_exc: BaseException | None = None) -> None:
    """teardown_request: what the view left uncommitted is rolled back."""
    stack = g.pop("api_request", None)
    if stack is not None:
        stack.close()


def caller() -> Caller:
    return g.api_caller


def refused(permission: str):
    """403 when the caller's role lacks `permission`, else None."""
    if permission in caller().permissions:
        return None
    return answer(403, f"the key's role lacks the permission {permission}")
