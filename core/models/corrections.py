"""Promised payments and instalments: what a correction of money remembers beyond its
ledger rows (core.services.promises, core.services.instalments)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.models.base import Base, BigId

OPEN = text("ended_at IS NULL")


class PromisedPayment(Base):
    """A temporary credit (обещанный платёж): the `credit` row (kind "promise") raised the
    balance when it was given; the `closing` row (kind "promise_end") takes it back when
    payments since cover it ("paid") or the billing day after `until` comes ("expired").
    At most one is open per contract (a partial unique index), so two managers clicking
    at once give one."""

    __tablename__ = "promised_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"))
    amount: Mapped[Decimal] = mapped_column()
    #: the last day it holds (the operator's date); the billing day after it ends it
    until: Mapped[date] = mapped_column()
    given_at: Mapped[datetime] = mapped_column(default=now)
    created_by: Mapped[str] = mapped_column(String(100))
    credit_id: Mapped[int] = mapped_column(BigId, ForeignKey("payment.id"))
    ended_at: Mapped[datetime | None] = mapped_column()
    end_reason: Mapped[str | None] = mapped_column(String(10))
    closing_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payment.id"))

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("end_reason IS NULL OR end_reason IN ('paid', 'expired')",
                        name="end_reason"),
        Index("ix_promised_payment_contract", "contract_id", "given_at"),
        Index("ix_promised_payment_open", "contract_id", unique=True,
              sqlite_where=OPEN, postgresql_where=OPEN),
    )


class Instalment(Base):
    """Equipment sold in instalments (рассрочка): `price` split into `months` monthly
    charges, the n-th due on `first_on` plus n−1 months (the day clamped to the month's
    end). Each is a manual charge keyed `i:<id>:<n>`, so the billing day that writes it
    can run twice; `charged` counts those written."""

    __tablename__ = "instalment"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"))
    title: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column()
    months: Mapped[int] = mapped_column()
    first_on: Mapped[date] = mapped_column()
    charged: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=now)

    __table_args__ = (
        CheckConstraint("price > 0", name="price"),
        CheckConstraint("months >= 1 AND charged >= 0 AND charged <= months", name="months"),
        Index("ix_instalment_due", "charged", "first_on"),
        Index("ix_instalment_contract", "contract_id"),
    )
