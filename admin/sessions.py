"""Admin sessions held on the server, so that ending one is final.

The signed Flask cookie carries a random token; only its SHA-256 digest is stored, in a
`staff_session` row (manager, created, last seen, ended). A request is let in only while
its row is not ended, its manager is active and it was seen within the idle time: a
cookie copied before a logout, a password change (which ends the manager's other
sessions), a deactivation or a long idle spell opens nothing afterwards. A row was chosen
over a per-manager generation counter because it can end one session (logout) without
ending the manager's others, and it shows when each was last used.

Cost per request: one indexed read (the row, its manager and role together, as loading
the manager took before); `last_seen_at` is written at most once a minute (`TOUCH_EVERY`).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.clock import now
from core.models import Manager, StaffSession

TOUCH_EVERY = timedelta(minutes=1)
#: a manager's sessions unused this long are deleted when the manager logs in again, so
#: the table holds recent history, not every login ever made
KEEP = timedelta(days=30)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, manager_id: int) -> str:
    """A new session for the manager; returns the token the cookie is to carry."""
    token = secrets.token_urlsafe(32)
    at = now()
    session.execute(delete(StaffSession).where(StaffSession.manager_id == manager_id,
                                               StaffSession.last_seen_at < at - KEEP))
    session.add(StaffSession(token_hash=_digest(token), manager_id=manager_id, created_at=at,
                             last_seen_at=at))
    session.flush()
    return token


def manager_of(session: Session, token: str, idle: timedelta) -> Manager | None:
    """The active manager whose live session the token names, else None (an idle session
    found here is ended on the way)."""
    found = session.execute(select(StaffSession, Manager).join(
        Manager, Manager.id == StaffSession.manager_id).where(
        StaffSession.token_hash == _digest(token), StaffSession.ended_at.is_(None))).first()
    if found is None:
        return None
    row, manager = found
    at = now()
    if row.last_seen_at + idle <= at:
        row.ended_at = at
        return None
    if not manager.active:
        return None
    if row.last_seen_at + TOUCH_EVERY <= at:
        row.last_seen_at = at
    return manager


def end(session: Session, token: str) -> None:
    """End one session (logout)."""
    session.execute(update(StaffSession).where(
        StaffSession.token_hash == _digest(token), StaffSession.ended_at.is_(None))
        .values(ended_at=now()))


def end_all(session: Session, manager_id: int, keep: str | None = None) -> int:
    """End every live session of the manager but the one `keep` names; returns how many."""
    query = update(StaffSession).where(StaffSession.manager_id == manager_id,
                                       StaffSession.ended_at.is_(None))
    if keep:
        query = query.where(StaffSession.token_hash != _digest(keep))
    return session.execute(query.values(ended_at=now())).rowcount

