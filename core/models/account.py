"""Logins and their state: agent, account, subscription, block, scheduled tariff change."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.models.base import Base
from core.models.catalog import Service, Tariff
from core.models.party import Contract


class Agent(Base):
    """An instance of an integration: a plugin's agent type plus its settings ("24h TV")."""

    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    settings: Mapped[dict] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)


class Account(Base):
    """A login on a contract, bound to one agent and one tariff (учётная запись, konto).

    `fields` holds the extra fields the agent type declares (validated by it); `ext_id`
    is a column of its own because usage records find their account by it. A trashed
    account keeps its rows; its login is free for reuse while it stays in the trash.
    """

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    login: Mapped[str] = mapped_column(String(100))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariff.id"), index=True)
    ext_id: Mapped[str | None] = mapped_column(String(100))
    fields: Mapped[dict] = mapped_column(default=dict)
    #: the argon2 hash of the subscriber's cabinet password (None: no cabinet login)
    cabinet_password: Mapped[str | None] = mapped_column(String(200))
    trashed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)

    contract: Mapped[Contract] = relationship(back_populates="accounts")
    agent: Mapped[Agent] = relationship()
    tariff: Mapped[Tariff] = relationship()
    subscriptions: Mapped[list["Subscription"]] = relationship(
        back_populates="account", order_by="Subscription.id")
    blocks: Mapped[list["Block"]] = relationship(back_populates="account", order_by="Block.id")

    __table_args__ = (
        Index("uq_account_agent_login", "agent_id", "login", unique=True,
              sqlite_where=text("trashed_at IS NULL"), postgresql_where=text("trashed_at IS NULL")),
        Index("ix_account_login", "login"),
        Index("ix_account_ext_id", "ext_id"),
    )

    @property
    def trashed(self) -> bool:
        return self.trashed_at is not None


SUBSCRIPTION_STATES = ("active", "inactive", "ended")


class Subscription(Base):
    """A service assigned to an account (назначенная услуга).

    `start_on` and `end_on` are days in the operator's time zone, both inclusive; an
    open end runs until the subscription is removed. `state` is what the manager set:
    whether the service is usable also depends on the account's blocks (see core.state).
    """

    __tablename__ = "subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    state: Mapped[str] = mapped_column(String(10), default="active")
    is_base: Mapped[bool] = mapped_column(default=False)
    start_on: Mapped[date] = mapped_column()
    end_on: Mapped[date | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    end_reason: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=now)

    account: Mapped[Account] = relationship(back_populates="subscriptions")
    service: Mapped[Service] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(f"state IN {SUBSCRIPTION_STATES}", name="state"),
        CheckConstraint("end_on IS NULL OR end_on >= start_on", name="dates"),
        Index("ix_subscription_account_id", "account_id", "state"),
        Index("ix_subscription_service_state", "service_id", "state"),
    )


class Block(Base):
    """One blocking reason on an account (Kill Bill's blocking state).

    A block is open from `start_at` until `end_at` (None: indefinite) or until it is
    lifted (`lifted_at`). `applied_at` marks when its start was announced (a dated
    voluntary block takes effect later than it is created).
    """

    __tablename__ = "block"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    source: Mapped[str] = mapped_column(String(10))
    start_at: Mapped[datetime] = mapped_column(default=now)
    end_at: Mapped[datetime | None] = mapped_column()
    applied_at: Mapped[datetime | None] = mapped_column()
    lifted_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100), default="system")

    account: Mapped[Account] = relationship(back_populates="blocks")

    __table_args__ = (
        CheckConstraint("source IN ('balance', 'admin', 'voluntary', 'disabled')", name="source"),
        CheckConstraint("end_at IS NULL OR end_at > start_at", name="dates"),
        Index("ix_block_open", "account_id", "source",
              sqlite_where=text("lifted_at IS NULL"), postgresql_where=text("lifted_at IS NULL")),
    )


class TariffChange(Base):
    """A tariff change planned for a day; the scheduler carries it out on that day."""

    __tablename__ = "tariff_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    old_tariff_id: Mapped[int] = mapped_column(ForeignKey("tariff.id"))
    new_tariff_id: Mapped[int] = mapped_column(ForeignKey("tariff.id"))
    effective_on: Mapped[date] = mapped_column()
    done_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[datetime] = mapped_column(default=now)

    account: Mapped[Account] = relationship()
