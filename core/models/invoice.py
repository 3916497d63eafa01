"""Invoices (счёт / акт, faktura) and their lines."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import now
from core.models.base import Base, BigId, Rate


class Invoice(Base):
    """A contract's document for a period; one per (contract, period_start)."""

    __tablename__ = "invoice"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(50), unique=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id"))
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    net: Mapped[Decimal] = mapped_column()
    vat: Mapped[Decimal] = mapped_column()
    gross: Mapped[Decimal] = mapped_column()
    issued_at: Mapped[datetime] = mapped_column(default=now)

    lines: Mapped[list["InvoiceLine"]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position")

    __table_args__ = (UniqueConstraint("contract_id", "period_start"),
                      Index("ix_invoice_period_start", "period_start"))


class InvoiceLine(Base):
    """A line: the period's charges of one service, or a line a plugin contributed."""

    __tablename__ = "invoice_line"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"),
                                            index=True)
    position: Mapped[int] = mapped_column()
    description: Mapped[str] = mapped_column(String(300))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    source: Mapped[str] = mapped_column(String(50), default="core")
    quantity: Mapped[Decimal] = mapped_column(Rate())
    unit: Mapped[str | None] = mapped_column(String(30))
    net: Mapped[Decimal] = mapped_column()
    vat_rate: Mapped[Decimal] = mapped_column(Rate())
    vat: Mapped[Decimal] = mapped_column()
    gross: Mapped[Decimal] = mapped_column()

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
