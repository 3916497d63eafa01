"""The log of every OSS command the billing sent to a NAS: what, to which NAS, how, the
NAS's answer and when (table `nas_command`, migration nas_oss_0002).

It is also how a delivery that carries several commands (a block: user_drop, then
b_admin) resumes after a silent NAS: the steps of a delivery (its idempotency key) that
the NAS acknowledged are not sent again; the others are, and every command is one the
NAS can take twice (set a policy, activate a service, disconnect a session that may be
gone already). Rows are written in their own short transaction, so a delivery that ends
in RetryLater keeps what it did.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, select
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


def done_steps(session: Session, delivery_key: str) -> set[int]:
    """The steps of a delivery already acknowledged (or needing nothing)."""
    return set(session.scalars(select(NasCommand.step).where(
        NasCommand.delivery_key == delivery_key, NasCommand.outcome.in_(DONE))))


def write(session: Session, **values) -> NasCommand:
    row = NasCommand(**{**values, "answer": (values.get("answer") or "")[:1000]})
    session.add(row)
    return row


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
