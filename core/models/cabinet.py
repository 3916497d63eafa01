"""The subscriber's cabinet (/my/): its logins held on the server, its password resets.

A cabinet session is a row like a manager's (core.models.staff.SessionRow), but of an
account: the cookie carries only a random token whose SHA-256 is kept here, so a logout,
a changed cabinet password or a long idle spell ends it for good.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.models.base import Base
from core.models.staff import SessionRow


class CabinetSession(SessionRow, Base):
    __tablename__ = "cabinet_session"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)


class CabinetReset(Base):
    """A code sent to reset an account's cabinet password: only its argon2 hash is kept;
    it works once (`used_at`), until `expires_at`, and for a few wrong `tries`. A newer
    code of the account voids the older ones (they are marked used)."""

    __tablename__ = "cabinet_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime] = mapped_column()
    tries: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column()
