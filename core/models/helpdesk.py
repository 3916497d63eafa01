"""HelpDesk: subscribers' requests and connection requests, their threads, files and history.

A ticket belongs to an account (and so to its contract and subscriber), or — a
connection request from someone who is not a subscriber yet — to a prospect known by
name, phone and address only. Comments are visible to the subscriber or internal (the
managers' notes); attachments are kept in the database with the ticket, so a backup of
the database is a backup of the HelpDesk and a rolled-back upload leaves no file behind.
Every change of status or assignee is a row of `ticket_history`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.models.base import Base, BigId

TICKET_STATUSES = ("new", "in_work", "waiting", "closed")
TICKET_KINDS = ("request", "connection")


class Ticket(Base):
    __tablename__ = "ticket"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="request")
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscriber.id"))
    #: a prospect's name, phone (digits), e-mail and address (a connection request)
    name: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    #: the client address a public request came from (its rate limit counts these)
    source_address: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="new")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("manager.id"))
    opened_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)

    comments: Mapped[list["TicketComment"]] = relationship(order_by="TicketComment.id")
    attachments: Mapped[list["TicketAttachment"]] = relationship(
        order_by="TicketAttachment.id")

    __table_args__ = (
        CheckConstraint(f"status IN {TICKET_STATUSES}", name="status"),
        CheckConstraint(f"kind IN {TICKET_KINDS}", name="kind"),
        Index("ix_ticket_status", "status", "id"),
        Index("ix_ticket_assignee", "assignee_id", "status"),
        Index("ix_ticket_contract", "contract_id", "id"),
        Index("ix_ticket_source", "source_address", "created_at"),
    )


class TicketComment(Base):
    """An answer in a ticket's thread; `internal` ones are never shown to the subscriber."""

    __tablename__ = "ticket_comment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    author: Mapped[str] = mapped_column(String(100))
    internal: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)

    __table_args__ = (Index("ix_ticket_comment_ticket", "ticket_id", "id"),)


class TicketAttachment(Base):
    """A file sent with a ticket or a comment; `content_type` is what its bytes are (sniffed),
    never what the upload claimed. An internal comment's files are internal too."""

    __tablename__ = "ticket_attachment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_comment.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    internal: Mapped[bool] = mapped_column(default=False)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=now)

    __table_args__ = (Index("ix_ticket_attachment_ticket", "ticket_id", "id"),)


class TicketHistory(Base):
    """One change of a ticket's status or assignee: who, when, from what, to what."""

    __tablename__ = "ticket_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    at: Mapped[datetime] = mapped_column(default=now)
    actor: Mapped[str] = mapped_column(String(100))
    field: Mapped[str] = mapped_column(String(20))
    old: Mapped[str | None] = mapped_column(String(200))
    new: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_ticket_history_ticket", "ticket_id", "id"),)
