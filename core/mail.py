"""Queueing e-mail to a contract's subscriber: a plain message, an invoice or act, a
statement. Each is a row of the mail log (`MailMessage`) and a `mail_queued` event
written in the caller's transaction, so a mail exists only if what it tells happened;
the built-in mailer (core.mailer, through the outbox) sends it later, with retries.

A document goes to one address once: its row is unique by (document, recipient), and
queueing it again returns the row already queued or sent. An operator re-sends on
purpose with `resend=True` (a new row with no key). A subscriber without an e-mail
address is refused by name (ValidationError on "email"), never skipped in silence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.events import emit
from core.models import Contract, Invoice, MailMessage
from core.runtime import actor_of, runtime_of
from core.services import inputs

#: an address is something@domain.tld without spaces (what SMTP's RCPT TO takes)
ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")
MAX_BODY = 20_000
DOCUMENT_TITLES = {"invoice": "Invoice", "act": "Act of services rendered",
                   "statement": "Statement"}


def mail_configured(session: Session) -> None:
    """Refuse to queue while `[mail]` names no server or sender: the mail would wait in
    the outbox for a setting nobody knows is missing."""
    config = runtime_of(session).settings.section("mail")
    for key in ("host", "from_address"):
        if not config[key]:
            raise ValidationError(f"mail.{key}", "outgoing mail is not configured: set "
                                                 "[mail] host and from_address")


def recipient_of(contract: Contract) -> str:
    """The subscriber's e-mail address, or a refusal naming the subscriber."""
    subscriber = contract.subscriber
    address = (subscriber.email or "").strip()
    if not address:
        raise ValidationError("email", f"{subscriber.name} (contract {contract.number}) has "
                                       f"no e-mail address")
    if not ADDRESS.fullmatch(address):
        raise ValidationError("email", f"{subscriber.name} (contract {contract.number}): "
                                       f"{address!r} is not an e-mail address")
    return address


def _address(to: str) -> str:
    if not ADDRESS.fullmatch(to.strip()):
        raise ValidationError("email", f"{to!r} is not an e-mail address")
    return to.strip()


@dataclass(frozen=True)
class Queued:
    """A queued message, and whether this call queued it (False: it was already)."""

    mail: MailMessage
    new: bool


def _queue(session: Session, contract: Contract, subject: Any, body: Any, *,
           actor: str | None = None, key: str | None = None, to: str | None = None,
           **document: Any) -> Queued:
    mail_configured(session)
    subject = inputs.text(subject, "subject", max_len=300)
    body = inputs.text(body, "body", max_len=MAX_BODY)
    recipient = recipient_of(contract) if to is None else _address(to)
    dedupe = f"{key}|{recipient.lower()}" if key else None
    if dedupe is not None:
        found = session.scalars(select(MailMessage).where(MailMessage.dedupe_key == dedupe)).first()
        if found is not None:
            return Queued(found, False)
    mail = MailMessage(contract_id=contract.id, recipient=recipient, subject=subject, body=body,
                       dedupe_key=dedupe, queued_by=actor or actor_of(session), **document)
    session.add(mail)
    session.flush()
    emit(session, "mail_queued", {"mail": {
        "id": mail.id, "contract_id": contract.id, "recipient": recipient,
        "subject": subject, "document": mail.document}}, contract_id=contract.id)
    return Queued(mail, True)


def queue_mail(session: Session, contract_id: Any, subject: Any, body: Any,
               actor: str | None = None, to: str | None = None) -> MailMessage:
    """Queue a plain text message to the e-mail address of the contract's subscriber, in
    the session's transaction; returns its row of the mail log. `actor` (default: the
    session's) is recorded as who queued it; `to` sends a message about the contract to
    another address (a manager told of the subscriber's answer). Refused with a
    ValidationError naming the field: `contract_id`, `subject`, `body`, `email` (the
    subscriber has none, or `to` is no address), `mail.host` (outgoing mail is not
    configured)."""
    contract = inputs.fetch(session, Contract, contract_id, "contract_id")
    return _queue(session, contract, subject, body, actor=actor, to=to).mail


def queue_invoice(session: Session, invoice_id: Any, document: str = "invoice", *,
                  resend: bool = False) -> Queued:
    """Queue invoice `invoice_id` as its invoice or its act (PDF attached)."""
    if document not in ("invoice", "act"):
        raise ValidationError("document", "must be invoice or act")
    invoice = inputs.fetch(session, Invoice, invoice_id, "invoice_id")
    contract = session.get(Contract, invoice.contract_id)
    title = f"{DOCUMENT_TITLES[document]} {invoice.number}"
    body = (f"Dear {contract.subscriber.name},\n\nplease find attached the "
            f"{DOCUMENT_TITLES[document].lower()} {invoice.number} for "
            f"{invoice.period_start:%Y-%m} (contract {contract.number}): "
            f"{invoice.gross} {invoice.currency}.\n")
    return _queue(session, contract, title, body, document=document, invoice_id=invoice.id,
                  key=None if resend else f"{document}:{invoice.id}")


def queue_statement(session: Session, contract: Contract, first: date, last: date, *,
                    resend: bool = False) -> Queued:
    """Queue the statement of `contract` for the days `first`…`last` (already checked by
    core.statements.check_period)."""
    body = (f"Dear {contract.subscriber.name},\n\nplease find attached the statement of "
            f"contract {contract.number} for {first.isoformat()} – {last.isoformat()}.\n")
    return _queue(session, contract, f"Statement of contract {contract.number}, "
                                     f"{first.isoformat()} – {last.isoformat()}", body,
                  document="statement", first_day=first, last_day=last,
                  key=None if resend else f"statement:{contract.id}:{first}:{last}")


@dataclass
class SendReport:
    """What a run of `send_invoices` did: queued, already queued or sent before, and the
    subscribers without an address (by name)."""

    queued: int = 0
    already: int = 0
    refused: list[str] = field(default_factory=list)


def send_invoices(session: Session, invoices: list[Invoice], document: str = "invoice", *,
                  resend: bool = False) -> SendReport:
    """Queue every invoice given; a subscriber who cannot be mailed is reported by name
    (their invoice is not queued) and the others go on."""
    mail_configured(session)
    report = SendReport()
    for invoice in invoices:
        try:
            with session.begin_nested():
                queued = queue_invoice(session, invoice.id, document, resend=resend)
        except ValidationError as exc:
            report.refused.append(f"invoice {invoice.number}: {exc.reason}")
            continue
        if queued.new:
            report.queued += 1
        else:
            report.already += 1
    return report
