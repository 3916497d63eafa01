"""The transactional outbox: events written with the change, deliveries per plugin."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.models.base import Base, BigId


class OutboxEvent(Base):
    """A committed fact (account created, block set…) with a snapshot of what a plugin needs."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    account_id: Mapped[int | None] = mapped_column(index=True)
    contract_id: Mapped[int | None] = mapped_column()
    payload: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=now)


DELIVERY_STATES = ("pending", "done", "dead")


class Delivery(Base):
    """One event for one plugin. Pending deliveries of a (plugin, contract) go out in event
    order: a later one waits while an earlier one is pending (failing or leased), so
    everything about one contract (its accounts' events and its own, e.g. payments)
    reaches a plugin in the order it happened. Events about no contract are not ordered.
    `locked_until` is the lease of the worker that claimed it; a killed worker's lease
    simply runs out and another worker takes the delivery again.
    """

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    plugin: Mapped[str] = mapped_column(String(50))
    account_id: Mapped[int | None] = mapped_column()
    #: the ordering key (the event's contract)
    contract_id: Mapped[int | None] = mapped_column()
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=now)
    locked_until: Mapped[datetime | None] = mapped_column()
    locked_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column()

    event: Mapped[OutboxEvent] = relationship()

    __table_args__ = (
        UniqueConstraint("event_id", "plugin"),
        CheckConstraint(f"state IN {DELIVERY_STATES}", name="state"),
        # the claim walks pending deliveries in id order: only pending rows are indexed,
        # so the done ones (most of the table) are never stepped over
        Index("ix_delivery_pending", "id",
              sqlite_where=text("state = 'pending'"), postgresql_where=text("state = 'pending'")),
        Index("ix_delivery_order", "plugin", "contract_id", "id",
              sqlite_where=text("state = 'pending'"), postgresql_where=text("state = 'pending'")),
        Index("ix_delivery_state", "state", "plugin"),
    )
