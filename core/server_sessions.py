"""Logins held on the server, so that ending one is final: a manager's in the admin
(`staff_session`), a subscriber's in the cabinet (`cabinet_session`).

The signed cookie carries a random token; only its SHA-256 digest is stored, in a row of
the owner (created, last seen, ended). A request is let in only while its row is not
ended, its owner is still allowed in and it was seen within the idle time: a cookie
copied before a logout, a password change (which ends the owner's other sessions), a
deactivation or a long idle spell opens nothing afterwards. A row was chosen over a
per-owner generation counter because it can end one session (logout) without ending the
owner's others, and it shows when each was last used.

Cost per request: one indexed read (the row and its owner together); `last_seen_at` is
written at most once a minute (`TOUCH_EVERY`).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, Callable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.clock import now

TOUCH_EVERY = timedelta(minutes=1)
#: an owner's sessions unused this long are deleted when the owner logs in again, so
#: the table holds recent history, not every login ever made
KEEP = timedelta(days=30)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ServerSessions:
    """The sessions of one kind of owner: `model` is the session row (core.models'
    `SessionRow`), `owner` the owner's model, whose id its `<owner table>_id` names,
    `allowed` whether an owner found may still come in (an active manager…)."""

    def __init__(self, model: type, owner: type, allowed: Callable[[Any], bool]):
        self.model, self.owner, self.allowed = model, owner, allowed
        self.owner_id = getattr(model, f"{owner.__tablename__}_id")

    def open(self, session: Session, owner_id: int) -> str:
        """A new session of the owner; returns the token the cookie is to carry."""
        token = secrets.token_urlsafe(32)
        at = now()
        session.execute(delete(self.model).where(self.owner_id == owner_id,
                                                 self.model.last_seen_at < at - KEEP))
        session.add(self.model(token_hash=_digest(token), created_at=at, last_seen_at=at,
                               **{self.owner_id.key: owner_id}))
        session.flush()
        return token

    def owner_of(self, session: Session, token: str, idle: timedelta) -> Any | None:
        """The allowed owner whose live session the token names, else None (an idle
        session found here is ended on the way)."""
        found = session.execute(select(self.model, self.owner).join(
            self.owner, self.owner.id == self.owner_id).where(
            self.model.token_hash == _digest(token), self.model.ended_at.is_(None))).first()
        if found is None:
            return None
        row, owner = found
        at = now()
        if row.last_seen_at + idle <= at:
            row.ended_at = at
            return None
        if not self.allowed(owner):
            return None
        if row.last_seen_at + TOUCH_EVERY <= at:
            row.last_seen_at = at
        return owner

    def end(self, session: Session, token: str) -> None:
        """End one session (logout)."""
        session.execute(update(self.model).where(
            self.model.token_hash == _digest(token), self.model.ended_at.is_(None))
            .values(ended_at=now()))

    def end_all(self, session: Session, owner_id: int, keep: str | None = None) -> int:
        """End every live session of the owner but the one `keep` names; returns how many."""
        query = update(self.model).where(self.owner_id == owner_id,
                                         self.model.ended_at.is_(None))
        if keep:
            query = query.where(self.model.token_hash != _digest(keep))
        return session.execute(query.values(ended_at=now())).rowcount
