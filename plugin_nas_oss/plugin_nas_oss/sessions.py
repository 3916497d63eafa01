"""The NAS sessions the billing's RADIUS server hears about (Accounting-Request start /
interim / stop), one row per (NAS, Acct-Session-Id).

A table of the plugin's own (migrations/nas_oss_0001), declared on the core's `Base` so
its foreign keys to `agent` and `account` work and `abonent db check` compares it. The
accounting table is what users_from_nas (plugin_nas_oss.sync) reads as "the NAS's
sessions" when the NAS has no NAPALM driver, and what the account card shows.

Accounting is idempotent per packet: a start, interim or stop that comes twice (a NAS
that did not hear our Accounting-Response sends it again) writes the same row again; a
stop or interim before its start creates the row; a stopped session stays stopped.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import Base, now

START, INTERIM, STOP = "Start", "Interim-Update", "Stop"
STATUS_TYPES = (START, INTERIM, STOP)


class NasSession(Base):
    __tablename__ = "nas_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    session_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    username: Mapped[str] = mapped_column(String(100), default="")
    framed_ip: Mapped[str | None] = mapped_column(String(45))
    mac: Mapped[str | None] = mapped_column(String(17))
    started_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    stopped_at: Mapped[datetime | None] = mapped_column()
    octets_in: Mapped[int] = mapped_column(BigInteger, default=0)
    octets_out: Mapped[int] = mapped_column(BigInteger, default=0)
    terminate_cause: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        UniqueConstraint("agent_id", "session_id"),
        Index("ix_nas_session_open", "agent_id", "stopped_at"),
    )


@dataclass(frozen=True)
class Accounting:
    """One Accounting-Request, as the server decoded it."""

    agent_id: int
    status: str  # one of STATUS_TYPES
    session_id: str
    username: str
    account_id: int | None
    framed_ip: str | None
    mac: str | None
    octets_in: int
    octets_out: int
    terminate_cause: str | None


def record(session: Session, acct: Accounting, at: datetime | None = None) -> tuple[NasSession, bool]:
    """Write one accounting packet; returns the session row and whether this packet
    stopped it now (True once per session: rad_acc_stop is recorded then, not again
    for a repeated Stop)."""
    at = at or now()
    row = session.scalar(select(NasSession).where(NasSession.agent_id == acct.agent_id,
                                                  NasSession.session_id == acct.session_id))
    if row is None:
        row = NasSession(agent_id=acct.agent_id, session_id=acct.session_id, started_at=at,
                         octets_in=0, octets_out=0)
        session.add(row)
    row.username = acct.username or row.username or ""
    row.account_id = acct.account_id if acct.account_id is not None else row.account_id
    row.framed_ip = acct.framed_ip or row.framed_ip
    row.mac = acct.mac or row.mac
    row.updated_at = at
    # counters only grow within a session: a late, reordered interim never lowers them
    row.octets_in = max(row.octets_in or 0, acct.octets_in)
    row.octets_out = max(row.octets_out or 0, acct.octets_out)
    stopped_now = acct.status == STOP and row.stopped_at is None
    if stopped_now:
        row.stopped_at = at
        row.terminate_cause = acct.terminate_cause
    session.flush()
    return row, stopped_now


def open_sessions(session: Session, agent_id: int) -> list[NasSession]:
    """The sessions of a NAS that have not stopped, oldest first."""
    return list(session.scalars(select(NasSession).where(
        NasSession.agent_id == agent_id, NasSession.stopped_at.is_(None)).order_by(NasSession.id)))


def sessions_of(session: Session, account_id: int, limit: int = 10) -> list[NasSession]:
    """An account's latest sessions, newest first (the account card)."""
    return list(session.scalars(select(NasSession).where(NasSession.account_id == account_id)
                                .order_by(NasSession.id.desc()).limit(limit)))
