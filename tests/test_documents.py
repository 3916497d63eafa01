"""Documents: the provider's details on every document, the operator's templates (a
sandbox, refusals with the line, a preview with real data, reset), and PDF output that
holds the money."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import ValidationError
from core import doctemplates, documents, pdf, statements
from core.invoicing import invoice_period
from core.ledger import add_charge
from core.models import AuditEntry, DocumentTemplate, Invoice
from core.provider import save_provider
from pdf_text import pdf_text

pytestmark = pytest.mark.sqlite_only  # rendering; the tables are plain rows on both

LAST_MONTH = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)
PROVIDER = {"name": "Svyaz LLC", "tax_id": "7701234567", "tax_reg": "770101001",
            "address": "Moscow, Tverskaya 1", "bank_name": "Bank", "bank_account":
            "40702810900000000001", "bic": "044525225", "correspondent_account":
            "30101810400000000225", "phone": "+7 495 000-00-00", "email": "billing@svyaz.example"}


@pytest.fixture
def invoiced(runtime, factory, pay):
    """A contract paid 100.00 and charged 350.00 last month, invoiced; the provider's details."""
    operator = factory.operator()
    contract = factory.contract(subscriber=factory.subscriber(name="Anna Smirnova"))
    pay(contract, "100.00", source="bank", external_id="b-1")
    with runtime.session(actor="manager:olga") as s:
        add_charge(s, key="doc-1", contract_id=contract.id, amount=Decimal("350.00"),
                   kind="manual", period_start=LAST_MONTH, period_end=LAST_MONTH)
        save_provider(s, operator.id, PROVIDER)
    invoice_period(runtime, LAST_MONTH, contract_id=contract.id)
    with runtime.session() as s:
        invoice = s.scalars(select(Invoice).where(Invoice.contract_id == contract.id)).one()
    return contract, invoice


def test_the_pdfs_hold_the_money_and_the_provider(runtime, invoiced):
    contract, invoice = invoiced
    with runtime.session() as s:
        bill = pdf_text(pdf.invoice_pdf(s, invoice.id))
        act = pdf_text(pdf.invoice_pdf(s, invoice.id, "act"))
        statement = pdf_text(pdf.statement_pdf(s, contract.id, LAST_MONTH, date.today()))
    for text in (bill, act, statement):
        assert "Svyaz LLC" in text and "7701234567" in text and "044525225" in text
    assert f"Invoice No. {invoice.number}" in bill and "350.00 RUB" in bill
    assert "Amount due" in bill and "250.00 RUB" in bill  # balance -250.00
    assert f"Act of services rendered No. {invoice.number}" in act and "350.00 RUB" in act
    assert "Opening balance" in statement and "-250.00" in statement


def test_bad_provider_details_are_refused_by_name(runtime, factory, counts):
    operator = factory.operator()
    before = counts()
    for field, value in (("tax_id", "77012"), ("bic", "04452522x"), ("email", "nope")):
        with pytest.raises(ValidationError) as refused, runtime.session() as s:
            save_provider(s, operator.id, {**PROVIDER, field: value})
        assert refused.value.field == field
    assert counts() == before


@pytest.mark.parametrize("source, line, says", [
    ("<p>\n{{ ''.__class__.__mro__ }}\n</p>", 2, "not allowed"),
    ("<p>\n\n{{ invoice.numbr }}</p>", 3, "numbr"),
    ("<p>\n<b>\n{% if %}</b>\n</p>", 3, "expression"),
])
def test_a_bad_template_is_refused_with_its_line_and_not_saved(runtime, invoiced, source,
                                                               line, says):
    contract, _invoice = invoiced
    with runtime.session() as s, pytest.raises(ValidationError) as previewed:
        pdf.preview(s, "invoice", source, contract.number, f"{LAST_MONTH:%Y-%m}")
    assert previewed.value.field == "source"
    assert previewed.value.reason.startswith(f"line {line}:") and says in previewed.value.reason
    with runtime.session() as s, pytest.raises(ValidationError):
        doctemplates.save(s, "invoice", source, pdf.sample_context("invoice"))
    with runtime.session() as s:
        assert s.get(DocumentTemplate, "invoice") is None


def test_an_edited_template_prints_until_it_is_reset(runtime, invoiced):
    contract, invoice = invoiced
    source = doctemplates.default_source("invoice").replace("Amount due", "К оплате")
    with runtime.session() as s:
        page = pdf.preview(s, "invoice", source, contract.id, f"{LAST_MONTH:%Y-%m}")
    assert "К оплате" in page and "250.00" in page
    with runtime.session(actor="manager:boss") as s:
        doctemplates.save(s, "invoice", source, pdf.sample_context("invoice"))
    with runtime.session() as s:
        assert "К оплате" in documents.render_html(s, invoice.id)
        assert "К оплате" not in documents.render_html(s, invoice.id, "act")
        assert doctemplates.reset(s, "invoice")
    with runtime.session() as s:
        assert "К оплате" not in documents.render_html(s, invoice.id)
        actions = s.scalars(select(AuditEntry.action).where(
            AuditEntry.object_type == "document_template")).all()
    assert actions == ["template_saved", "template_reset"]


def test_every_default_renders_its_sample():
    """The samples have every name the shipped templates use (strict: none is missing)."""
    for kind in ("invoice", "act", "statement"):
        page = doctemplates.render_source(doctemplates.default_source(kind),
                                          pdf.sample_context(kind))
        assert "Provider name" in page and "Sample Subscriber" in page
    assert statements.sample_context()["st"].closing == Decimal("-200.00")


def test_a_document_fetches_nothing_from_the_disk_or_the_network(tmp_path):
    """An edited template cannot pull a local file into a PDF (only data: URLs load)."""
    sheet = tmp_path / "leak.css"
    sheet.write_text('p::after { content: "LEAKED" }')
    inline = "data:text/css,p::before%20%7B%20content:%20%22INLINE%20%22%20%7D"
    text = pdf_text(pdf.to_pdf(f'<link rel="stylesheet" href="{sheet.as_uri()}">'
                               f'<link rel="stylesheet" href="{inline}"><p>secret</p>'))
    assert "LEAKED" not in text and "INLINE" in text and "secret" in text
