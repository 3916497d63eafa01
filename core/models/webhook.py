"""Webhooks: the operator's URLs that get chosen events, signed (core.webhooks).

The secret is stored as it was given: the HMAC that signs each request needs the secret
itself (a hash of it could not sign), so it is shown in full when an endpoint is made or
its secret rotated, and only its first characters afterwards. Each try of an event at an
endpoint is one `WebhookAttempt`: the log the admin shows, and the record a retried
delivery reads to skip the endpoints that already accepted the event.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.models.base import Base, BigId


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    secret: Mapped[str] = mapped_column(String(100))
    #: event names (core.events.NOTIFICATIONS), or ["*"] for every one of them
    events: Mapped[list] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    created_by: Mapped[str] = mapped_column(String(100))
    #: why it was turned off, as the person who did it said
    disabled_reason: Mapped[str | None] = mapped_column(String(500))


class WebhookAttempt(Base):
    """One POST of one event to one endpoint (a test event has no event nor delivery)."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    delivery_id: Mapped[int | None] = mapped_column(BigInteger)
    event_name: Mapped[str] = mapped_column(String(50))
    #: which try of this event at this endpoint (from 1; 1 for a test event)
    attempt: Mapped[int] = mapped_column(default=1)
    sent_at: Mapped[datetime] = mapped_column(default=now)
    #: the HTTP status answered; None when no answer came (see `error`)
    status: Mapped[int | None] = mapped_column()
    #: the first 500 characters of the answer's body
    response: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_webhook_attempt_endpoint_id_id", "endpoint_id", "id"),)
