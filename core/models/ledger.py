"""The ledger: charges (debits) and payments (credits) of a contract."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.models.base import Base, BigId, Rate

CHARGE_KINDS = ("periodic", "one_time", "usage", "manual", "refund")
#: payment.kind: money received, and the corrections kept on the same side of the ledger
#: (core.services.corrections): a manual credit, a promised payment (a temporary credit);
#: the negative ones each undo one earlier row named by `reverses_id`: a reversal (storno)
#: of a payment or credit, the end of a promised payment.
CREDIT_KINDS = ("payment", "credit", "promise")
UNDO_KINDS = ("reversal", "promise_end")
#: the opening balance a contract brought from another billing (core.import_subscribers):
#: one row, positive (money the subscriber had there) or negative (a debt), never money
#: received
OPENING_KIND = "imported"


class Charge(Base):
    """A debit (списание). `key` makes every run idempotent: a periodic charge's key is
    `p:<first day of period>:<subscription id, zero-padded>`, a usage charge's is its
    record's, so a run repeated or resumed inserts nothing twice. A refund (unused days of a monthly fee
    when a subscription ends early) is a charge with a negative amount.

    `batch` groups the charges one statement inserted, so the contracts' balances can be
    moved by one set-based UPDATE for exactly those rows (see core.ledger).
    """

    __tablename__ = "charge"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscription.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    kind: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    quantity: Mapped[Decimal | None] = mapped_column(Rate())
    amount: Mapped[Decimal] = mapped_column()
    comment: Mapped[str | None] = mapped_column(String(500))
    batch: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=now)
    #: The invoice that carries this charge (its month's, or a later one's correction
    #: line when it landed after its month was invoiced); None until invoiced.
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))

    service = relationship("Service")

    __table_args__ = (
        CheckConstraint(f"kind IN {CHARGE_KINDS}", name="kind"),
        Index("ix_charge_contract_period", "contract_id", "period_start"),
        Index("ix_charge_account_id", "account_id", "id"),
        Index("ix_charge_batch", "batch"),
        CheckConstraint("amount >= 0 OR kind = 'refund'", name="amount"),
    )


class Payment(Base):
    """A credit (платёж); (source, external_id) is unique, so a replayed payment is one.

    `kind` tells money received ("payment") from corrections; a correction is never an
    edit or a delete but a row of its own with its reason in `comment`. A negative row
    (kind "reversal" or "promise_end") names the row it undoes in `reverses_id`, which is
    unique: a payment is reversed at most once."""

    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"))
    amount: Mapped[Decimal] = mapped_column()
    source: Mapped[str] = mapped_column(String(50), default="manual")
    external_id: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=now)
    comment: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[datetime] = mapped_column(default=now)
    kind: Mapped[str] = mapped_column(String(12), default="payment", server_default="payment")
    reverses_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payment.id"), unique=True)

    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        CheckConstraint(f"(amount > 0 AND kind IN {CREDIT_KINDS} AND reverses_id IS NULL) OR "
                        f"(amount < 0 AND kind IN {UNDO_KINDS} AND reverses_id IS NOT NULL) OR "
                        f"(amount <> 0 AND kind = '{OPENING_KIND}' AND reverses_id IS NULL)",
                        name="amount"),
        Index("ix_payment_contract_id", "contract_id", "received_at"),
    )
