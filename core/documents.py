"""An invoice as documents: the invoice and the act (акт выполненных работ) as printable
HTML (A4, to print, turn into PDF with core.pdf, or mail) and CSV for a spreadsheet or an
accounting import.

The HTML comes from the operator's template of the document or the shipped one
(core.doctemplates: a sandbox, autoescaping on, so a subscriber named `<script>` is
printed, never run). A template is given plain values only (`CONTEXT_HELP` lists them),
built here for a real invoice and, with made-up values of the same shape, for a sample
that checks an edited template before it is saved. In the CSV, a text cell that a
spreadsheet would take for a formula (=, +, -, @) is prefixed with a quote.
"""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from types import SimpleNamespace as Values
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core import csvout, doctemplates
from core.clock import today
from core.doctemplates import money_text, quantity_text
from core.errors import ValidationError
from core.models import Contract, Invoice, Operator, Subscriber
from core.provider import FIELDS as PROVIDER_FIELDS
from core.provider import provider_of
from core.services import inputs

#: money_text and quantity_text are the templates' filters, here for the CSV and plugins
__all__ = ["money_text", "quantity_text", "render_html", "render_csv", "invoice_context",
           "sample_context", "subscriber_address", "parties"]

CSV_HEADER = ("position", "description", "quantity", "unit", "net", "vat_rate", "vat", "gross",
              "currency")
#: the kinds of address printed on an invoice, most wanted first
ADDRESS_KINDS = ("billing", "postal")
#: what the templates of the invoice and the act are given (shown where they are edited)
CONTEXT_HELP = {
    "invoice": "number, period_start, period_end, issued_on, currency, net, vat, gross",
    "lines": "list of: position, description, quantity, unit, net, vat_rate, vat, gross",
    "provider": ", ".join(PROVIDER_FIELDS),
    "subscriber": "name, tax_id, address, email",
    "contract": "number, balance, balance_on, amount_due (what brings the balance to zero)",
    "operator": "name, currency, prices_include_vat",
}
ZERO = Decimal("0.00")


def subscriber_address(subscriber: Subscriber) -> str:
    """The address a document is sent to: a billing one, else a postal one, else the first."""
    addresses = subscriber.addresses or []
    for kind in ADDRESS_KINDS:
        for address in addresses:
            if address.get("kind") == kind:
                return address.get("text", "")
    return addresses[0].get("text", "") if addresses else ""


def parties(session: Session, contract: Contract) -> dict[str, Values]:
    """The provider, the subscriber, the contract (balance today) and the operator, as
    every document's template gets them."""
    operator, subscriber = contract.operator, contract.subscriber
    return {
        "provider": provider_of(session, operator),
        "subscriber": Values(name=subscriber.name, tax_id=subscriber.tax_id or "",
                             address=subscriber_address(subscriber),
                             email=subscriber.email or ""),
        "contract": Values(number=contract.number, balance=contract.balance,
                           balance_on=today(operator.timezone),
                           amount_due=max(ZERO, -contract.balance)),
        "operator": Values(name=operator.name, currency=operator.currency,
                           prices_include_vat=operator.prices_include_vat),
    }


def invoice_context(session: Session, invoice_id: Any) -> dict[str, Any]:
    """What the invoice's and the act's templates are given for invoice `invoice_id`."""
    invoice = inputs.fetch(session, Invoice, invoice_id, "invoice_id")
    contract = session.get(Contract, invoice.contract_id)
    operator = session.get(Operator, invoice.operator_id)
    lines = [Values(position=x.position, description=x.description, quantity=x.quantity,
                    unit=x.unit or "", net=x.net, vat_rate=x.vat_rate, vat=x.vat, gross=x.gross)
             for x in invoice.lines]
    return {**parties(session, contract), "lines": lines, "invoice": Values(
        number=invoice.number, period_start=invoice.period_start,
        period_end=invoice.period_end, currency=invoice.currency, net=invoice.net,
        vat=invoice.vat, gross=invoice.gross,
        issued_on=invoice.issued_at.astimezone(ZoneInfo(operator.timezone)).date())}


def sample_context() -> dict[str, Any]:
    """Made-up values of the shape of `invoice_context` (an edited template is rendered
    with them before it is saved)."""
    money = Decimal("300.00")
    return {
        "provider": Values(**{name: f"Provider {name}" for name in PROVIDER_FIELDS}),
        "subscriber": Values(name="Sample Subscriber", tax_id="", address="Sample street 1",
                             email="subscriber@example.org"),
        "contract": Values(number="C-00001", balance=-money, balance_on=date(2026, 1, 31),
                           amount_due=money),
        "operator": Values(name="Sample ISP", currency="RUB", prices_include_vat=True),
        "lines": [Values(position=1, description="Internet 100 Mbit/s", quantity=Decimal(1),
                         unit="month", net=Decimal("250.00"), vat_rate=Decimal(20),
                         vat=Decimal("50.00"), gross=money)],
        "invoice": Values(number="INV-2026-00001", period_start=date(2026, 1, 1),
                          period_end=date(2026, 1, 31), issued_on=date(2026, 2, 1),
                          currency="RUB", net=Decimal("250.00"), vat=Decimal("50.00"),
                          gross=money),
    }


def render_html(session: Session, invoice_id: Any, kind: str = "invoice") -> str:
    """The printable invoice (or, with kind "act", the act) of `invoice_id`."""
    if kind not in ("invoice", "act"):
        raise ValidationError("kind", "must be invoice or act")
    return doctemplates.render(session, kind, invoice_context(session, invoice_id))


def render_csv(session: Session, invoice_id: Any) -> str:
    """One row per line, then a total row, under a header of `CSV_HEADER`."""
    invoice = inputs.fetch(session, Invoice, invoice_id, "invoice_id")
    out = io.StringIO()
    writer = csvout.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for line in invoice.lines:
        writer.writerow([line.position, line.description, quantity_text(line.quantity),
                         line.unit, money_text(line.net), quantity_text(line.vat_rate),
                         money_text(line.vat), money_text(line.gross), invoice.currency])
    writer.writerow(["", "Total", "", "", money_text(invoice.net), "", money_text(invoice.vat),
                     money_text(invoice.gross), invoice.currency])
    return out.getvalue()
