"""Staff: managers (сотрудники) who log in to the admin, and their roles.

A role is a set of permission strings ("accounts:view", "accounts:block", "payments:create",
"settings:edit", "plugins:view"…); the admin decides what each permission opens. Passwords
are stored only as argon2 hashes; a manager without one cannot log in until an
administrator sets one or a one-time set-up link is used.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.models.base import Base


class Role(Base):
    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    permissions: Mapped[list] = mapped_column(default=list)
    builtin: Mapped[bool] = mapped_column(default=False)


class Manager(Base):
    __tablename__ = "manager"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"))
    language: Mapped[str] = mapped_column(String(5), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_login_at: Mapped[datetime | None] = mapped_column()
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: where the HelpDesk tells the manager of a subscriber's answer (none: not told)
    email: Mapped[str | None] = mapped_column(String(200))

    role: Mapped[Role] = relationship(lazy="joined")


class SetupToken(Base):
    """A one-time link to set a manager's password (first start, password reset)."""

    __tablename__ = "setup_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("manager.id"))
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class SessionRow:
    """The columns of a login held on the server (core.server_sessions): the cookie
    carries only the token, whose hash is kept here, so a session ends for good when
    `ended_at` is set (logout, password change, owner disabled) or when it has been idle
    too long (`last_seen_at`). A table of it adds its owner's `<table>_id`."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_seen_at: Mapped[datetime] = mapped_column(default=now)
    ended_at: Mapped[datetime | None] = mapped_column()


class StaffSession(SessionRow, Base):
    """A manager's login held on the server."""

    __tablename__ = "staff_session"

    manager_id: Mapped[int] = mapped_column(ForeignKey("manager.id"), index=True)


class LoginThrottle(Base):
    """Failed logins counted per key ("login:<name>" or "addr:<client address>"): one small
    row per key, so a failure is a single short upsert, not a growing log."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime] = mapped_column()
    locked_until: Mapped[datetime | None] = mapped_column()
