"""Failed logins slow down, then lock out, a login and a client address.

Each failure bumps one small `login_throttle` row per key ("login:<name>",
"addr:<address>") in a short transaction: a flood of wrong passwords costs a couple of
row writes each, never a long hold of SQLite's write lock. After `login_delay_after`
failures the next attempt for that key must wait 1 s, 2 s, 4 s… (at most 60 s, and never
longer than a lockout); after the
lockout threshold the key is refused for `lockout_seconds`. A refused attempt is answered
at once ("try again in N s", HTTP 429) instead of sleeping in the request thread, so a
flood cannot tie up the server's threads, and its password is not even checked.
A quiet spell as long as a lockout forgets earlier failures; a successful login forgets
those of its login (not of its address: one known password must not reset the counter
an attacker runs up from there). An administrator sees and lifts lockouts (`locked`,
`unlock`); failures, lockouts and unlocks are in the audit log.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.audit import audit
from core.db import is_postgres
from core.errors import NotFound
from core.models import LoginThrottle

MAX_DELAY = 60


@dataclass(frozen=True)
class Limits:
    delay_after: int = 3
    login_lockout_after: int = 10
    address_lockout_after: int = 30
    lockout_seconds: int = 900

    @classmethod
    def of(cls, security: Mapping[str, Any]) -> "Limits":
        """From the `[security]` settings section."""
        return cls(security["login_delay_after"], security["login_lockout_after"],
                   security["address_lockout_after"], security["lockout_seconds"])


def keys(login: str, address: str | None) -> tuple[str, str]:
    """The two counters a login attempt is held to (logins compare case-insensitively)."""
    return f"login:{login.strip().lower()[:100]}", f"addr:{(address or 'unknown')[:100]}"


def _delay(failures: int, limits: Limits) -> int:
    if failures < limits.delay_after:
        return 0
    return min(MAX_DELAY, limits.lockout_seconds, 2 ** (failures - limits.delay_after))


def _ready_at(row: LoginThrottle, limits: Limits) -> datetime:
    """When the key may try again (past or future)."""
    if row.locked_until is not None:
        return row.locked_until
    return row.last_failed_at + timedelta(seconds=_delay(row.failures, limits))


def wait_seconds(session: Session, keys_: tuple[str, ...], limits: Limits, at: datetime) -> int:
    """0 if an attempt may be made now, else the whole seconds still to wait."""
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys_)))
    ready = max((_ready_at(row, limits) for row in rows), default=at)
    return max(0, int(-(-(ready - at).total_seconds() // 1)))


def _stale(row: LoginThrottle, limits: Limits, at: datetime) -> bool:
    """A finished lockout or a quiet spell as long as one: start counting afresh."""
    if row.locked_until is not None:
        return row.locked_until <= at
    return row.last_failed_at + timedelta(seconds=limits.lockout_seconds) <= at


def count(session: Session, keys_: tuple[str, ...], limits: Limits,
          at: datetime) -> datetime | None:
    """Count one attempt against every key (a key whose kind ends in "addr" is held to the
    address limit); returns the end of a lockout it started. Not audited: the caller
    says what was attempted (`failed`, the cabinet's password-reset requests)."""
    insert = pg_insert if is_postgres(session.get_bind()) else sqlite_insert
    _forget_stale(session, limits, at)
    locked = None
    for key in keys_:
        session.execute(insert(LoginThrottle).values(key=key, failures=0, last_failed_at=at)
                        .on_conflict_do_nothing())
        row = session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
        if _stale(row, limits, at):
            row.failures, row.locked_until = 0, None
        row.failures += 1
        row.last_failed_at = at
        by_address = key.partition(":")[0].endswith("addr")
        limit = limits.address_lockout_after if by_address else limits.login_lockout_after
        if row.failures >= limit and row.locked_until is None:
            row.locked_until = locked = at + timedelta(seconds=limits.lockout_seconds)
            audit(session, "login_locked", "login_throttle", key,
                  {"failures": row.failures, "locked_until": row.locked_until})
    return locked


def failed(session: Session, keys_: tuple[str, ...], limits: Limits, at: datetime,
           object_id: Any, detail: dict[str, Any], kind: str = "manager") -> datetime | None:
    """Count a failed login against every key and audit it on the object whose login
    failed (`kind`: "manager" for the admin, "account" for the cabinet; `object_id`
    None when the login names none); returns the end of a lockout it started."""
    locked = count(session, keys_, limits, at)
    audit(session, "login_failed", kind, object_id, detail)
    return locked


def _forget_stale(session: Session, limits: Limits, at: datetime) -> None:
    """Drop the rows that would start afresh anyway (made-up logins of a flood pile up)."""
    quiet = at - timedelta(seconds=limits.lockout_seconds)
    session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_failed_at <= quiet,
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= at)))


def succeeded(session: Session, login_key: str) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == login_key))


def held(session: Session, limits: Limits, at: datetime) -> list[tuple[LoginThrottle, int]]:
    """Keys that may not try now, with the seconds left: what an administrator sees."""
    rows = session.scalars(select(LoginThrottle).where(or_(
        LoginThrottle.locked_until > at, LoginThrottle.failures >= limits.delay_after))
        .order_by(LoginThrottle.key))
    result = []
    for row in rows:
        left = int((_ready_at(row, limits) - at).total_seconds())
        if left > 0:
            result.append((row, left))
    return result


def unlock(session: Session, key: Any) -> None:
    """Forget a key's failures (an administrator's action, audited)."""
    row = session.get(LoginThrottle, str(key or ""))
    if row is None:
        raise NotFound("key", f"{key!r} is not held back")
    audit(session, "login_unlocked", "login_throttle", row.key,
          {"failures": row.failures, "locked_until": row.locked_until})
    session.delete(row)
    session.flush()
