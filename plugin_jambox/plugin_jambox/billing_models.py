"""The plugin's own table: SGT's billing events as imported (`jambox_billing_event`).

One row per SMS event id (unique: an import may run any number of times over the same
days and never adds an event twice). The row keeps what SGT sent — the SMS customer
number and the billing's external id SGT holds for it, the TV account, the selling date,
the description, the VAT as a fraction (0.23), the customer's gross price, the
operator's B2B net price, the monthly SGT report (`report_id`, SGT's `group_id`) and the
package — and what the billing made of it: the contract it belongs to (resolved from the
customer link, NULL while no contract claims the customer) and the invoice it landed on
(NULL: not invoiced yet). The migration is `migrations/jambox_0001_billing_event.py`.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import Base, Rate, now


class BillingEvent(Base):
    __tablename__ = "jambox_billing_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    sms_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    cust_number: Mapped[str] = mapped_column(String(20))
    cust_external_id: Mapped[str | None] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(20))
    selling_date: Mapped[date] = mapped_column(index=True)
    description: Mapped[str] = mapped_column(String(300))
    vat: Mapped[Decimal] = mapped_column(Rate())
    gross: Mapped[Decimal] = mapped_column()
    b2b_net: Mapped[Decimal | None] = mapped_column()
    report_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    package_id: Mapped[int | None] = mapped_column(BigInteger)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    imported_at: Mapped[datetime] = mapped_column(default=now)

    __table_args__ = (
        # the invoice run's question: a contract's events not invoiced, up to a day
        Index("ix_jambox_billing_event_contract", "contract_id", "invoice_id", "selling_date"),
    )


class ImportWindow(Base):
    """The last answer imported whole for one window of days of one agent: its SHA-256
    and how many events it held. An answer byte for byte the same is not read again
    (a second import over past days, whose answers do not change, costs the transfer
    only); written in the same transaction as the window's events."""

    __tablename__ = "jambox_import_window"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    first_day: Mapped[date] = mapped_column()
    last_day: Mapped[date] = mapped_column()
    digest: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column()
    imported_at: Mapped[datetime] = mapped_column(default=now)

    __table_args__ = (UniqueConstraint("agent_id", "first_day", "last_day"),)
