"""Who changed what and when, and what each scheduled run did."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.models.base import Base, BigId


class AuditEntry(Base):
    """One change: actor ("manager:ivan", "cli", "plugin:tv24"), object, old and new values."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(50))
    changes: Mapped[dict] = mapped_column(default=dict)

    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)


class JobRun(Base):
    """One run of a scheduled job (or of the same job run by hand): result or error."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default="running")
    result: Mapped[dict] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(20), default="schedule")

    __table_args__ = (Index("ix_job_run_job", "job_id", "started_at"),)


class ExternalLink(Base):
    """What a plugin remembers about one of our objects on its platform: the 24h TV user
    id of an account, the platform id of a subscription. Plugins keep their state here
    (through core.links) so they need no tables of their own."""

    __tablename__ = "external_link"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plugin: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(30))
    local_id: Mapped[int] = mapped_column()
    external_id: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)

    __table_args__ = (
        UniqueConstraint("plugin", "kind", "local_id"),
        Index("ix_external_link_external", "plugin", "kind", "external_id"),
    )
