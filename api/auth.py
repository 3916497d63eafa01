"""Who is asking: every API request carries `Authorization: Bearer <token>` of a live
key (401 otherwise), stays within the key's rate limit (429 with Retry-After) and, per
operation, needs a permission of the key's role (403), as a manager of that role would.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request

from api import keys
from api.errors import answer
from api.ratelimit import RateLimiter

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="abonent"'}


@dataclass(frozen=True)
class Caller:
    """The key a request came with, read once (the view's own transaction acts as it)."""

    id: int
    name: str
    permissions: frozenset[str]

    @property
    def actor(self) -> str:
        return f"api:{self.name}"


def limiter() -> RateLimiter:
    return current_app.extensions["abonent_api"]["limiter"]


def identify():
    """before_request of every resource blueprint: None lets the request through."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return answer(401, "an API key is required: Authorization: Bearer <token>",
                      headers=CHALLENGE)
    with current_app.extensions["abonent"].session(actor="api") as session:
        key = keys.authenticate(session, token.strip())
        if key is None:
            return answer(401, "the API key is unknown or revoked", headers=CHALLENGE)
        caller = Caller(key.id, key.name, frozenset(key.role.permissions or ()))
        limit = key.rate_limit
    wait = limiter().wait(caller.id, limit)
    if wait:
        return answer(429, f"this key may make {limit} requests a minute",
                      headers={"Retry-After": str(wait)})
    g.api_caller = caller
    return None


def caller() -> Caller:
    return g.api_caller


def refused(permission: str):
    """403 when the caller's role lacks `permission`, else None."""
    if permission in caller().permissions:
        return None
    return answer(403, f"the key's role lacks the permission {permission}")
