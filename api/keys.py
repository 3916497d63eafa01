"""API keys: made, listed and revoked by an administrator (admin's Settings → API keys,
`abonent apikey`), and the look-up of a request's bearer token.

The token is 32 random bytes shown once; only its SHA-256 is stored, so a stolen
database does not hand out working keys. Making and revoking a key is audited.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.audit import audit
from core.clock import now
from core.errors import Duplicate, NotFound, ValidationError
from core.models import ApiKey, Role
from core.runtime import actor_of
from core.services import inputs

#: tokens start with this, so a leaked one is recognised (secret scanners, logs)
PREFIX = "abk_"
#: the most requests a minute a key may be given
MAX_RATE = 100_000
#: last use is written at most this often per key (not one write per request)
LAST_USE_STEP = timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    token: str  # shown once, never stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(session: Session, name: str, role: str, *, rate_limit: int = 600) -> NewKey:
    """A key named `name` acting with the permissions of `role` (a role's name)."""
    name = inputs.text(name, "name", max_len=50, pattern=r"[A-Za-z0-9_.-]+",
                       what="letters, digits and _ . - only")
    role_row = session.scalars(select(Role).where(Role.name == role)).first()
    if role_row is None:
        raise NotFound("role", f"no role {role!r}")
    rate_limit = inputs.integer(rate_limit, "rate_limit", low=1, high=MAX_RATE)
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise Duplicate("name", f"an API key named {name!r} exists")
    token = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=role_row, token_hash=token_hash(token), rate_limit=rate_limit,
                 created_by=actor_of(session))
    session.add(key)
    session.flush()
    audit(session, "create", "api_key", key.id,
          {"name": name, "role": role_row.name, "rate_limit": rate_limit})
    return NewKey(key, token)


def keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.name)))


def revoke_key(session: Session, name: str) -> ApiKey:
    """Revoke the key named `name`: its token is refused from now on (kept for the log)."""
    key = session.scalars(select(ApiKey).where(ApiKey.name == str(name or ""))).first()
    if key is None:
        raise NotFound("name", f"no API key named {name!r}")
    if key.revoked_at is not None:
        raise ValidationError("name", f"API key {key.name!r} is already revoked")
    key.revoked_at = now()
    audit(session, "revoke", "api_key", key.id, {"name": key.name})
    return key


def authenticate(session: Session, token: str) -> ApiKey | None:
    """The live key of `token`, its last use recorded (at most once per LAST_USE_STEP)."""
    key = session.scalars(select(ApiKey).where(ApiKey.token_hash == token_hash(token),
                                               ApiKey.revoked_at.is_(None))).first()
    if key is None:
        return None
    at = now()
    if key.last_used_at is None or at - key.last_used_at >= LAST_USE_STEP:
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=at))
        key.last_used_at = at
    return key
