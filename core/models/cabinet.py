"""The subscriber's cabinet (/my/): its logins held on the server.

A cabinet session is a row like a manager's (core.models.staff.StaffSession), but of an
account: the cookie carries only a random token whose SHA-256 is kept here, so a logout,
a changed cabinet password or a long idle spell ends it for good.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.models.base import Base


class CabinetSession(Base):
    __tablename__ = "cabinet_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_seen_at: Mapped[datetime] = mapped_column(default=now)
    ended_at: Mapped[datetime | None] = mapped_column()
