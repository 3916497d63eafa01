"""API keys: how another system (a website, a CRM, a terminal network) acts through the
REST API at /api/v1/ (package `api`).

A key acts with a role's permissions, exactly as a manager of that role would. Only the
SHA-256 of its token is kept (the token is 32 random bytes, so a salted slow hash adds
nothing): the token is shown once, when the key is made. A revoked key stays, so the
audit log's "api:<name>" entries keep naming it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.models.base import Base
from core.models.staff import Role


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: requests a minute this key may make before it is answered 429
    rate_limit: Mapped[int] = mapped_column(default=600)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    role: Mapped[Role] = relationship(lazy="joined")
