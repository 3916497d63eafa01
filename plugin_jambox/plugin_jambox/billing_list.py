"""The list of imported billing events (SGT's manual, 4.2), for the admin and the CLI.

Filters: the selling days (from, to), SGT's monthly report id (`group_id`, the number on
SGT's PDF report), "not invoiced yet" (events skipped by the invoicing: no contract claims
their customer, the customer's TV invoicing is suspended, or their month is not invoiced
yet) and a contract. Each row shows the customer (SMS number, and the contract when one
claims it), the report, the price and the invoice the event landed on.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import MAX_KEY, Contract, Invoice, ValidationError
from plugin_jambox.billing_import import parse_day
from plugin_jambox.billing_models import BillingEvent

MAX_LIMIT = 1000
CENT = Decimal("0.01")


@dataclass(frozen=True)
class EventRow:
    sms_id: int
    selling_date: date
    cust_number: str
    cust_external_id: str | None
    contract_id: int | None
    contract_number: str | None
    account_id: str
    description: str
    report_id: int | None
    package_id: int | None
    vat_percent: Decimal
    gross: Decimal
    b2b_net: Decimal | None
    invoice_id: int | None
    invoice_number: str | None


@dataclass(frozen=True)
class EventFilter:
    first: date | None = None
    last: date | None = None
    report_id: int | None = None
    uninvoiced: bool = False
    contract_id: int | None = None

    @classmethod
    def of(cls, first: Any = None, last: Any = None, report_id: Any = None,
           uninvoiced: Any = False, contract_id: Any = None) -> "EventFilter":
        """Checked filters from strings (a form, the command line); "" is no filter."""
        return cls(parse_day(first, "from") if first not in (None, "") else None,
                   parse_day(last, "to") if last not in (None, "") else None,
                   _key(report_id, "report"), uninvoiced in (True, "1", "on", "true", "yes"),
                   _key(contract_id, "contract"))

    def where(self, query):
        if self.first is not None:
            query = query.where(BillingEvent.selling_date >= self.first)
        if self.last is not None:
            query = query.where(BillingEvent.selling_date <= self.last)
        if self.report_id is not None:
            query = query.where(BillingEvent.report_id == self.report_id)
        if self.uninvoiced:
            query = query.where(BillingEvent.invoice_id.is_(None))
        if self.contract_id is not None:
            query = query.where(BillingEvent.contract_id == self.contract_id)
        return query


def _key(value: Any, field_name: str) -> int | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    if not text.isdigit() or not 0 < int(text) <= MAX_KEY:
        raise ValidationError(field_name, f"{text!r} is not an id (a whole number from 1)")
    return int(text)


def count_events(session: Session, filters: EventFilter) -> tuple[int, Decimal]:
    """How many events match, and their gross total."""
    count, total = session.execute(filters.where(
        select(func.count(), func.coalesce(func.sum(BillingEvent.gross), 0)))).one()
    return count, Decimal(str(total)).quantize(CENT)


def list_events(session: Session, filters: EventFilter, limit: int = 100, offset: int = 0
                ) -> list[EventRow]:
    """The matching events, by selling day then SMS id."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", f"must be from 1 to {MAX_LIMIT}")
    if not 0 <= offset <= MAX_KEY:
        raise ValidationError("offset", "must be a whole number from 0")
    query = filters.where(
        select(BillingEvent, Contract.number, Invoice.number)
        .outerjoin(Contract, Contract.id == BillingEvent.contract_id)
        .outerjoin(Invoice, Invoice.id == BillingEvent.invoice_id))
    rows = session.execute(query.order_by(BillingEvent.selling_date, BillingEvent.sms_id)
                           .limit(limit).offset(offset)).all()
    return [EventRow(e.sms_id, e.selling_date, e.cust_number, e.cust_external_id, e.contract_id,
                     contract_number, e.account_id, e.description, e.report_id, e.package_id,
                     (e.vat * 100).quantize(CENT), e.gross, e.b2b_net, e.invoice_id,
                     invoice_number)
            for e, contract_number, invoice_number in rows]
