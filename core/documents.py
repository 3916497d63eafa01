"""An invoice as documents: a printable HTML page (A4, to print, save as PDF or mail) and
CSV for a spreadsheet or an accounting import.

The HTML comes from the jinja2 template `core/templates/invoice.html` with autoescaping
on, so a subscriber named `<script>` is printed, never run. In the CSV, a text cell that a
spreadsheet would take for a formula (=, +, -, @) is prefixed with a quote.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy.orm import Session

from core import csvout
from core.models import Contract, Invoice, Operator, Subscriber
from core.services import inputs

CSV_HEADER = ("position", "description", "quantity", "unit", "net", "vat_rate", "vat", "gross",
              "currency")
#: the kinds of address printed on an invoice, most wanted first
ADDRESS_KINDS = ("billing", "postal")


def quantity_text(value: Decimal) -> str:
    """A quantity without trailing zeros: 6.000000 → "6", 2.500000 → "2.5"."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def money_text(value: Decimal) -> str:
    return f"{value:.2f}"


#: the documents' templates (core/templates), shared by invoices and statements
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("core", "templates"), autoescape=True,
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
TEMPLATES.filters.update(quantity=quantity_text, money=money_text)


@dataclass(frozen=True)
class Document:
    """Everything an invoice's documents show."""

    invoice: Invoice
    contract: Contract
    subscriber: Subscriber
    operator: Operator
    issued_on: date
    address: str


def subscriber_address(subscriber: Subscriber) -> str:
    """The address a document is sent to: a billing one, else a postal one, else the first."""
    addresses = subscriber.addresses or []
    for kind in ADDRESS_KINDS:
        for address in addresses:
            if address.get("kind") == kind:
                return address.get("text", "")
    return addresses[0].get("text", "") if addresses else ""


def load_document(session: Session, invoice_id: Any) -> Document:
    invoice = inputs.fetch(session, Invoice, invoice_id, "invoice_id")
    contract = session.get(Contract, invoice.contract_id)
    operator = session.get(Operator, invoice.operator_id)
    issued_on = invoice.issued_at.astimezone(ZoneInfo(operator.timezone)).date()
    return Document(invoice, contract, contract.subscriber, operator, issued_on,
                    subscriber_address(contract.subscriber))


def render_html(session: Session, invoice_id: Any) -> str:
    """The printable invoice / act of `invoice_id`."""
    document = load_document(session, invoice_id)
    return TEMPLATES.get_template("invoice.html").render(doc=document,
                                                         lines=document.invoice.lines)


def render_csv(session: Session, invoice_id: Any) -> str:
    """One row per line, then a total row, under a header of `CSV_HEADER`."""
    invoice = load_document(session, invoice_id).invoice
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
