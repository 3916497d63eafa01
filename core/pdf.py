"""Documents as PDF (WeasyPrint), and the one place that knows how each kind of document
is rendered: for printing, for a mail's attachment, and for the preview of a template
being edited (its text rendered with a chosen contract's real document).

WeasyPrint would fetch what a page links to (images, style sheets), from the network or
the disk: an edited template could so pull `file:///etc/passwd` into a PDF. Nothing is
fetched but `data:` URLs (a logo inlined in the template). One PDF is made at a time
per process: WeasyPrint (pango, fontconfig underneath) does not promise to be safe to
call from several threads, and the outbox's mail deliveries and the admin's requests are
threads.
"""
from __future__ import annotations

import threading
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import doctemplates, documents, statements
from core.errors import NotFound, ValidationError
from core.invoicing import parse_period
from core.models import Contract, Invoice, MailMessage
from core.services.customers import find_contract


_ONE_AT_A_TIME = threading.Lock()


def to_pdf(html: str) -> bytes:
    """A printed page (A4, as the templates' @page says) as PDF."""
    from weasyprint import HTML  # a second to import: only when a PDF is made
    from weasyprint.urls import URLFetcher
    with _ONE_AT_A_TIME:
        return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols={"data"})
                    ).write_pdf()


def sample_context(kind: str) -> dict[str, Any]:
    """Made-up values of a document's shape: an edited template must render them."""
    doctemplates.check_kind(kind)
    return statements.sample_context() if kind == "statement" else documents.sample_context()


def invoice_of(session: Session, contract: Contract, period: Any) -> Invoice:
    """The contract's invoice for the month `period` (YYYY-MM)."""
    first = parse_period(period)
    invoice = session.scalars(select(Invoice).where(Invoice.contract_id == contract.id,
                                                    Invoice.period_start == first)).first()
    if invoice is None:
        raise NotFound("period", f"contract {contract.number} has no invoice for {first:%Y-%m}")
    return invoice


def preview(session: Session, kind: str, source: Any, contract_ref: Any, first: Any,
            last: Any = None) -> str:
    """Template text `source` rendered with a real document: the invoice (or act) of the
    contract for the month `first` (YYYY-MM), or its statement for the days `first` to
    `last`. Refusals name the field: source (with the line), contract, period, from, to."""
    doctemplates.check_kind(kind)
    if not isinstance(source, str) or not source.strip():
        raise ValidationError("source", "is required")
    contract = find_contract(session, contract_ref, "contract")
    if kind == "statement":
        context = statements.context(session, statements.build(session, contract.id, first, last))
    else:
        context = documents.invoice_context(session, invoice_of(session, contract, first).id)
    return doctemplates.render_source(source, context)


def statement_pdf(session: Session, contract_id: int, first: date, last: date) -> bytes:
    built = statements.build(session, contract_id, first, last)
    return to_pdf(statements.render_html(session, built))


def invoice_pdf(session: Session, invoice_id: Any, kind: str = "invoice") -> bytes:
    return to_pdf(documents.render_html(session, invoice_id, kind))


def mail_attachment(session: Session, mail: MailMessage) -> tuple[str, bytes]:
    """The PDF a queued mail carries, with its file name."""
    if mail.document == "statement":
        number = session.get(Contract, mail.contract_id).number
        return (f"statement-{number}-{mail.first_day}-{mail.last_day}.pdf",
                statement_pdf(session, mail.contract_id, mail.first_day, mail.last_day))
    invoice = session.get(Invoice, mail.invoice_id)
    return f"{mail.document}-{invoice.number}.pdf", invoice_pdf(session, invoice.id, mail.document)
