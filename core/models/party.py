"""The organisation and its customers: operator, number plans, subscriber, contract."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.models.base import Base, Rate, trigram_index


class Operator(Base):
    """The organisation that bills: currency, VAT, time zone, the defaults of blocking."""

    __tablename__ = "operator"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    vat_rate: Mapped[Decimal] = mapped_column(Rate(), default=Decimal("0"))
    #: True: prices and charges include VAT (Russian practice); False: VAT is added on top
    prices_include_vat: Mapped[bool] = mapped_column(default=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    grace_days: Mapped[int] = mapped_column(default=0)
    grace_amount: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    invoice_plan_id: Mapped[int | None] = mapped_column(ForeignKey("number_plan.id"))
    contract_plan_id: Mapped[int | None] = mapped_column(ForeignKey("number_plan.id"))


class NumberPlan(Base):
    """A numbering series for documents (invoices, contracts): pattern and reset rule.

    The pattern is a `str.format` template with `{seq}`, `{year}`, `{month}`; counters live
    in `number_counter`, one row per scope (the year when the plan resets yearly).
    """

    __tablename__ = "number_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    pattern: Mapped[str] = mapped_column(String(100), default="{seq}")
    reset: Mapped[str] = mapped_column(String(10), default="never")

    __table_args__ = (CheckConstraint("reset IN ('never', 'yearly', 'monthly')", name="reset"),)


class NumberCounter(Base):
    """The last number handed out by a plan within a scope; locked while a number is taken."""

    __tablename__ = "number_counter"

    plan_id: Mapped[int] = mapped_column(ForeignKey("number_plan.id"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class Subscriber(Base):
    """The person or company card (абонент, klient)."""

    __tablename__ = "subscriber"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="person")
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(200))
    tax_id: Mapped[str | None] = mapped_column(String(40))
    addresses: Mapped[list] = mapped_column(default=list)
    comment: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=now)

    phones: Mapped[list["Phone"]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", order_by="Phone.id")
    contracts: Mapped[list["Contract"]] = relationship(back_populates="subscriber")

    __table_args__ = (
        CheckConstraint("kind IN ('person', 'company')", name="kind"),
        Index("ix_subscriber_name", "name"),
    )


class Phone(Base):
    """A subscriber's phone, digits only, so a lookup by phone is an index hit."""

    __tablename__ = "phone"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(20), index=True)

    subscriber: Mapped[Subscriber] = relationship(back_populates="phones")

    __table_args__ = (UniqueConstraint("subscriber_id", "number"),)


class Contract(Base):
    """The money account (договор): payments and charges land here.

    `balance` is kept equal to payments − charges by updating it in the same statement
    family as every ledger row (an atomic `balance = balance + x`), so it is exact under
    concurrency and cheap to read; `core.ledger.verify_balances` checks the identity.
    """

    __tablename__ = "contract"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(50), unique=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id"))
    balance: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    credit_limit: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    do_not_block: Mapped[bool] = mapped_column(default=False)
    grace_days: Mapped[int | None] = mapped_column()
    grace_amount: Mapped[Decimal | None] = mapped_column()
    below_limit_since: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=now)

    subscriber: Mapped[Subscriber] = relationship(back_populates="contracts")
    operator: Mapped[Operator] = relationship()
    accounts: Mapped[list["Account"]] = relationship(back_populates="contract")  # noqa: F821

    __table_args__ = (CheckConstraint("credit_limit >= 0", name="credit_limit"),)


# fragments of a name, a contract number, a phone (core.search; migration 0008)
for _model, _column in ((Subscriber, "name"), (Contract, "number"), (Phone, "number")):
    trigram_index(_model.__table__, f"ix_{_model.__tablename__}_{_column}_trgm",
                  _model.__table__.c[_column])
