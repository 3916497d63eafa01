"""The log of every OSS command the billing sent to a NAS: what, to which NAS, how, the
NAS's answer and when (table `nas_command`, migration nas_oss_0002).

It is also how a delivery that carries several commands (a block: user_drop, then
b_admin) resumes after a silent NAS: the steps of a delivery (its idempotency key) that
the NAS acknowledged are not sent again; the others are, and every command is one the
NAS can take twice (set a policy, activate a service, disconnect a session that may be
gone already). A delivery's rows are written together in their own short transaction
when it ends, however it ends, so one that ends in RetryLater keeps what it did.
"""
from __future__ import annotations

import threading
import weakref
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import Base, now

#: Outcomes: the NAS acknowledged / refused / did not answer; the command needed nothing
#: sent (no attribute had a value, the profile has no action, the NAS is out of service);
#: a disconnect or CoA for a session the NAS no longer has; the transport failed otherwise.
ACK, NAK, SILENT, SKIPPED, NO_SESSION, ERROR = ("ack", "nak", "silent", "skipped",
                                                "no-session", "error")
#: Outcomes after which a delivery's step is not sent again.
DONE = (ACK, SKIPPED, NO_SESSION)


class NasCommand(Base):
    __tablename__ = "nas_command"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    command: Mapped[str] = mapped_column(String(30))
    transport: Mapped[str] = mapped_column(String(12))
    target: Mapped[str] = mapped_column(String(64), default="")
    request: Mapped[list] = mapped_column(default=list)
    outcome: Mapped[str] = mapped_column(String(12))
    answer: Mapped[str] = mapped_column(String(1000), default="")
    delivery_key: Mapped[str | None] = mapped_column(String(120))
    step: Mapped[int | None] = mapped_column()

    __table_args__ = (
        Index("ix_nas_command_account", "account_id", "id"),
        Index("ix_nas_command_delivery", "delivery_key"),
    )


def done_steps():
    """(delivery key, step) of the deliveries' (parameter `keys`) steps already
    acknowledged or needing nothing."""
    return select(NasCommand.delivery_key, NasCommand.step).where(
        NasCommand.delivery_key.in_(bindparam("keys", expanding=True)),
        NasCommand.outcome.in_(DONE))


def fitted(row: dict) -> dict:
    """A command log row (a dict of NasCommand's columns) whose answer fits its column."""
    return {**row, "answer": (row.get("answer") or "")[:1000]}


def write_all(session: Session, rows: list[dict]) -> None:
    """Insert command log rows (dicts of NasCommand's columns) in one statement."""
    session.connection().execute(NasCommand.__table__.insert(), [fitted(row) for row in rows])


class _Write:
    """One transaction's worth of rows, and how its write ended."""

    def __init__(self):
        self.rows: list[dict] = []
        self.done = False
        self.error: BaseException | None = None


class GroupWriter:
    """Group commit: the rows of deliveries that end while another's are being written go
    in together in the next transaction, so a lane of many threads spends one transaction
    per handful of deliveries instead of one each. A caller returns once its rows are
    committed (or raises what the write raised): nothing is recorded done before its log."""

    def __init__(self):
        self._changed = threading.Condition()
        self._open = _Write()  # the rows waiting for the next write
        self._busy = False

    def write(self, ctx, rows: list[dict]) -> None:
        with self._changed:
            write = self._open
            write.rows.extend(rows)
            while self._busy and not write.done:
                self._changed.wait()
            if not write.done:  # nobody is writing: this thread writes what has gathered
                self._busy, self._open = True, _Write()
        if write.done:
            if write.error is not None:
                raise write.error
            return
        try:
            with ctx.session() as session:
                write_all(session, write.rows)
        except BaseException as exc:
            write.error = exc
            raise
        finally:
            with self._changed:
                write.done, self._busy = True, False
                self._changed.notify_all()


_writers: "weakref.WeakKeyDictionary[object, GroupWriter]" = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def write_group(ctx, rows: list[dict]) -> None:
    """Write `rows` through the group writer of ctx's database (GroupWriter)."""
    engine = ctx.runtime.engine
    with _writers_lock:
        writer = _writers.get(engine) or _writers.setdefault(engine, GroupWriter())
    writer.write(ctx, rows)


def of_account(session: Session, account_id: int, limit: int = 20) -> list[NasCommand]:
    """The account's latest commands, newest first."""
    return list(session.scalars(select(NasCommand).where(NasCommand.account_id == account_id)
                                .order_by(NasCommand.id.desc()).limit(limit)))


def page(session: Session, *, agent_id: int | None = None, account_id: int | None = None,
         command: str | None = None, outcome: str | None = None, offset: int = 0,
         limit: int = 50) -> list[NasCommand]:
    """Commands for the admin's log, newest first, filtered."""
    query = select(NasCommand).order_by(NasCommand.id.desc())
    for column, value in ((NasCommand.agent_id, agent_id), (NasCommand.account_id, account_id),
                          (NasCommand.command, command), (NasCommand.outcome, outcome)):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query.offset(offset).limit(limit)))
