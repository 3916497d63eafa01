"""Measured usage (CDR lines) and what became of each."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.models.base import Base, BigId, Rate


class UsageRecord(Base):
    """One measured quantity for an ext_id: rated into a charge, or rejected with a reason.

    `key` is `<source>:<day>:<ext_id>:<unit>:<sensor type>[#n]` for spool lines taken
    since 0002 (`<source>:<file digest>:<line>` before; see core.cdr.record_key), or the
    caller's own key; unique, so a file taken twice adds nothing. A rejected record
    superseded by a later one with its key keeps its row, its key suffixed
    `~superseded:<id>` (core.usage.SUPERSEDED).
    """

    __tablename__ = "usage_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(50))
    ext_id: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int | None] = mapped_column()
    sensor_type_id: Mapped[int | None] = mapped_column()
    value: Mapped[Decimal] = mapped_column(Rate())
    day: Mapped[date] = mapped_column()
    state: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str | None] = mapped_column(String(300))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscription.id"))
    charge_id: Mapped[int | None] = mapped_column(ForeignKey("charge.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    __table_args__ = (
        CheckConstraint("state IN ('pending', 'rated', 'rejected')", name="state"),
        Index("ix_usage_record_state", "state", "id"),
        Index("ix_usage_record_account_id", "account_id", "day"),
    )


class CdrFile(Base):
    """A CDR file taken from a spool directory: what it held and what became of it."""

    __tablename__ = "cdr_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(64))
    lines: Mapped[int] = mapped_column(default=0)
    taken: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    taken_at: Mapped[datetime] = mapped_column(default=now)

    __table_args__ = (Index("ix_cdr_file_source", "source", "digest"),)
