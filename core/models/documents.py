"""The provider's details printed on documents, the templates an operator edited, and the
log of every e-mail queued to a subscriber (what was sent, to whom, the server's answer)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import now
from core.models.base import Base, BigId

#: the documents whose template an operator may edit (core/templates/<kind>.html)
DOCUMENT_KINDS = ("invoice", "act", "statement")
MAIL_STATES = ("queued", "sent", "failed")


class ProviderDetails(Base):
    """Who issues the documents (реквизиты): one row per operator, printed on every
    invoice, act and statement. `tax_id` is the INN (or NIP), `tax_reg` the KPP."""

    __tablename__ = "provider_details"

    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    tax_id: Mapped[str] = mapped_column(String(20), default="")
    tax_reg: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    bank_name: Mapped[str] = mapped_column(String(300), default="")
    bank_account: Mapped[str] = mapped_column(String(40), default="")
    bic: Mapped[str] = mapped_column(String(20), default="")
    correspondent_account: Mapped[str] = mapped_column(String(40), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=now)
    updated_by: Mapped[str] = mapped_column(String(100), default="system")


class DocumentTemplate(Base):
    """An operator's edited template of a document; without a row the shipped default
    (core/templates/<kind>.html) is used, and a reset deletes the row."""

    __tablename__ = "document_template"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    updated_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (CheckConstraint(f"kind IN {DOCUMENT_KINDS}", name="kind"),)


class MailMessage(Base):
    """One e-mail to one recipient, written when it is queued and updated by its delivery.

    `dedupe_key` (document and recipient) is unique: queueing the same document to the
    same address again finds the row instead of sending twice; an explicit re-send has
    no key. A statement is named by its contract and days (`first_day`, `last_day`).
    """

    __tablename__ = "mail_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"))
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    document: Mapped[str | None] = mapped_column(String(20))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    first_day: Mapped[date | None] = mapped_column()
    last_day: Mapped[date | None] = mapped_column()
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    server_reply: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(default=now)
    queued_by: Mapped[str] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint(f"state IN {MAIL_STATES}", name="state"),
        CheckConstraint(f"document IS NULL OR document IN {DOCUMENT_KINDS}", name="document"),
        Index("ix_mail_message_contract", "contract_id", "id"),
        Index("ix_mail_message_queued_at", "queued_at"),
    )
