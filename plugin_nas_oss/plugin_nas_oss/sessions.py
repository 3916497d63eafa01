"""The NAS sessions the billing's RADIUS server hears about (Accounting-Request start /
interim / stop), one row per (NAS, Acct-Session-Id).

A table of the plugin's own (migrations/nas_oss_0001), declared on the core's `Base` so
its foreign keys to `agent` and `account` work and `abonent db check` compares it. The
accounting table is what users_from_nas (plugin_nas_oss.sync) reads as "the NAS's
sessions" when the NAS has no NAPALM driver, and what the account card shows.

Accounting is idempotent per packet: a start, interim or stop that comes twice (a NAS
that did not hear our Accounting-Response sends it again) writes the same row again; a
stop or interim before its start creates the row; a stopped session stays stopped.
The RADIUS server writes the packets that arrived together in one statement (an upsert
on (agent, session id)), so a burst costs one round trip, not one per packet; the
command log rows of the sessions a batch stops (rad_acc_stop) go in the same transaction
and, on PostgreSQL, in the same statement (plugin_nas_oss.sessions_pg).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, case, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import Base, now
from plugin_nas_oss import sessions_pg
from plugin_nas_oss.command_log import write_all

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

    @property
    def stops(self) -> bool:
        """Whether this packet (or, folded, its batch) stops the session."""
        return self.status == STOP


def _fold(packets: list[Accounting]) -> dict[tuple[int, str], Accounting]:
    """One packet per session: what a batch says about it, in the order it came (a Stop
    anywhere stops it; counters only grow; a later value replaces an earlier one)."""
    folded: dict[tuple[int, str], Accounting] = {}
    for acct in packets:
        key = (acct.agent_id, acct.session_id)
        before = folded.get(key)
        if before is not None:  # (not dataclasses.replace: 3 times slower, once a packet)
            acct = Accounting(
                agent_id=acct.agent_id, session_id=acct.session_id,
                status=STOP if before.stops or acct.stops else acct.status,
                username=acct.username or before.username,
                account_id=acct.account_id or before.account_id,
                framed_ip=acct.framed_ip or before.framed_ip, mac=acct.mac or before.mac,
                octets_in=max(before.octets_in, acct.octets_in),
                octets_out=max(before.octets_out, acct.octets_out),
                terminate_cause=acct.terminate_cause or before.terminate_cause)
        folded[key] = acct
    return folded


@functools.cache
def _upsert():
    """INSERT … ON CONFLICT (agent_id, session_id) DO UPDATE … RETURNING on SQLite (as
    sessions_pg's on PostgreSQL): compiled once, one multi-row statement for a batch."""
    table = NasSession.__table__
    statement = sqlite_insert(table)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["agent_id", "session_id"],
        set_={"account_id": func.coalesce(new.account_id, table.c.account_id),
              "username": func.coalesce(func.nullif(new.username, ""), table.c.username),
              "framed_ip": func.coalesce(new.framed_ip, table.c.framed_ip),
              "mac": func.coalesce(new.mac, table.c.mac),
              "updated_at": new.updated_at,
              "octets_in": func.max(table.c.octets_in, new.octets_in),
              "octets_out": func.max(table.c.octets_out, new.octets_out),
              "stopped_at": func.coalesce(table.c.stopped_at, new.stopped_at),
              "terminate_cause": case((table.c.stopped_at.is_(None), new.terminate_cause),
                                      else_=table.c.terminate_cause)}
    ).returning(table.c.agent_id, table.c.session_id, table.c.stopped_at)


def record_all(session: Session, packets: list[Accounting], at: datetime | None = None,
               log: Callable[[Accounting], dict] | None = None) -> list[Accounting]:
    """Write a batch of accounting packets in one statement; returns the sessions this
    batch stopped (each once: a Stop sent again finds its session stopped already, at
    the time of the batch that stopped it, which RETURNING tells apart from this one's).
    `log(stop)` renders the command log row of a session the batch stops: each stopped
    session's row is written in the same transaction."""
    if not packets:
        return []
    at = at or now()
    folded = _fold(packets)
    stops = {key: acct for key, acct in folded.items() if acct.stops}
    if session.bind.dialect.name == "postgresql":
        stopped_now = sessions_pg.record(session, list(folded.values()), at, {
            key: log(acct) for key, acct in stops.items()} if log else {})
    else:
        stopped_now = _record_sqlite(session, folded.values(), at)
        if log and stopped_now:
            write_all(session, [log(acct) for key, acct in stops.items() if key in stopped_now])
    return [acct for key, acct in stops.items() if key in stopped_now]


def one_statement(dialect: str) -> bool:
    """Whether record_all, log rows and all, is a single statement on `dialect` (on
    PostgreSQL: sessions_pg), i.e. atomic even outside a transaction: a writer may run it
    in autocommit, one round trip a batch instead of BEGIN, statement, COMMIT."""
    return dialect == "postgresql"


def _record_sqlite(session: Session, folded, at: datetime) -> set[tuple[int, str]]:
    """The batch's upsert on SQLite; the keys of the sessions it stopped now."""
    rows = [{"agent_id": a.agent_id, "session_id": a.session_id, "account_id": a.account_id,
             "username": a.username, "framed_ip": a.framed_ip, "mac": a.mac,
             "started_at": at, "updated_at": at, "stopped_at": at if a.stops else None,
             "octets_in": a.octets_in, "octets_out": a.octets_out,
             "terminate_cause": a.terminate_cause if a.stops else None}
            for a in folded]
    written = session.execute(_upsert(), rows).all()
    return {(agent_id, session_id) for agent_id, session_id, stopped_at in written
            if stopped_at == at}


def open_sessions(session: Session, agent_id: int) -> list[NasSession]:
    """The sessions of a NAS that have not stopped, oldest first."""
    return list(session.scalars(select(NasSession).where(
        NasSession.agent_id == agent_id, NasSession.stopped_at.is_(None)).order_by(NasSession.id)))
