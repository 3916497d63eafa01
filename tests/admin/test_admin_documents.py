"""The admin's documents: provider details and templates (settings:edit, refusals under
the field with the line, a preview with a real invoice, reset), the invoice list's PDF
and e-mail, the card's statement by e-mail, and the mail log with the password masked."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from admin import staff
from core.invoicing import invoice_period
from core.ledger import add_charge
from core.models import Contract, DocumentTemplate, Invoice, MailMessage, ProviderDetails
from tests.admin.test_admin_browser import log_in
from pdf_text import pdf_text

pytestmark = pytest.mark.sqlite_only  # pages over plain rows; the core is tested on both

MONTH = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)


@pytest.fixture
def abonent_config():
    return {"mail": {"host": "127.0.0.1", "port": 2525, "user": "billing",
                     "password": "s3cret-pass", "from_address": "billing@isp.example"}}


@pytest.fixture
def invoice(runtime, factory):
    account = factory.account(contract=factory.contract(subscriber=factory.subscriber(
        name="Anna Smirnova", email="anna@example.org")))
    with runtime.session() as s:
        add_charge(s, key="adm-1", contract_id=account.contract_id, amount=Decimal("480.00"),
                   kind="manual", period_start=MONTH, period_end=MONTH)
    invoice_period(runtime, MONTH, contract_id=account.contract_id)
    with runtime.session() as s:
        found = s.scalars(select(Invoice)).one()
    return account, found


def test_provider_details_are_refused_by_field_then_printed(runtime, client, invoice,
                                                            login_as):
    _account, bill = invoice
    page = client.post("/admin/provider/", {"name": "Svyaz LLC", "tax_id": "12345"})
    assert page.status_code == 200
    assert "Tax id (INN / NIP): must be 10 or 12 digits" in page.get_data(as_text=True)
    with runtime.session() as s:
        assert s.scalars(select(ProviderDetails)).first() is None
    saved = client.post("/admin/provider/", {"name": "Svyaz LLC", "tax_id": "7701234567",
                                             "bic": "044525225"})
    assert saved.status_code == 302
    printed = client.get(f"/admin/invoice/pdf/{bill.id}")
    assert printed.mimetype == "application/pdf"
    text = pdf_text(printed.get_data())
    assert "Svyaz LLC" in text and "7701234567" in text and "480.00 RUB" in text
    manager = login_as("manager")
    assert manager.post("/admin/provider/", {"name": "Other"}).status_code == 403


def test_a_template_is_previewed_refused_with_its_line_saved_and_reset(runtime, client,
                                                                       invoice):
    account, bill = invoice
    with runtime.session() as s:
        number = s.get(Contract, account.contract_id).number
    url = "/admin/templates/act"
    source = client.text(url).split('id="source"', 1)[1]
    assert "Act of services rendered" in source
    good = "<h1>Акт {{ invoice.number }}</h1>\n<p>{{ invoice.gross | money }}</p>"
    preview = client.post(f"{url}/preview", {"source": good, "contract": number,
                                             "first": f"{MONTH:%Y-%m}"})
    assert preview.status_code == 200
    assert f"Акт {bill.number}" in preview.get_data(as_text=True) and "480.00" in (
        preview.get_data(as_text=True))
    bad = "<h1>\n{{ invoice.__class__ }}</h1>"
    for target in (f"{url}/preview", url):
        page = client.post(target, {"source": bad, "contract": number,
                                    "first": f"{MONTH:%Y-%m}"}).get_data(as_text=True)
        assert "line 2:" in page and "not allowed in a document template" in page
    with runtime.session() as s:
        assert s.get(DocumentTemplate, "act") is None
    assert client.post(url, {"source": good}).status_code == 302
    assert f"Акт {bill.number}" in client.text(f"/admin/invoice/print/{bill.id}?kind=act")
    assert client.post(f"{url}/reset").status_code == 302
    assert "Act of services rendered" in client.text(f"/admin/invoice/print/{bill.id}?kind=act")


def test_invoices_and_statements_are_mailed_once_and_logged(runtime, client, invoice):
    account, bill = invoice
    for _ in range(2):
        client.post(f"/admin/invoice/email/{bill.id}")
    day = date.today().isoformat()
    answer = client.post(f"/admin/card/{account.id}/statement/email",
                         {"from": day, "to": day})
    assert answer.status_code == 302
    with runtime.session() as s:
        mails = s.scalars(select(MailMessage).order_by(MailMessage.id)).all()
        assert [(m.document, m.recipient) for m in mails] == [
            ("invoice", "anna@example.org"), ("statement", "anna@example.org")]
    log = client.text("/admin/mail_log/")
    assert f"Invoice {bill.number}" in log and "s3cret-pass" not in log and "••••••" in log
    assert "Statement of contract" in client.text(f"/admin/card/{account.id}")
    dry = client.post("/admin/invoice/send", {"period": f"{MONTH:%Y-%m}",
                                              "document": "invoice", "dry_run": "y"})
    assert "0 would be queued, 1 already queued or sent" in dry.get_data(as_text=True)


def test_an_administrator_edits_the_invoice_with_a_preview(page, runtime, set_up, invoice,
                                                           password):
    account, bill = invoice
    with runtime.session() as s:
        number = s.get(Contract, account.contract_id).number
    log_in(page, staff.FIRST_ADMIN, password)
    page.goto("/admin/templates/")
    page.click("#template-invoice")
    source = page.input_value("#source").replace("Amount due", "К оплате")
    page.fill("#source", source)
    page.fill("#contract", number)
    page.fill("#first", f"{MONTH:%Y-%m}")
    with page.context.expect_page() as opened:
        page.click("#template-preview")
    preview = opened.value
    preview.wait_for_load_state()
    assert preview.locator("#amount-due").inner_text().split() == ["К", "оплате", "480.00",
                                                                  "RUB"]
    preview.close()
    broken = source.replace("{{ invoice.number }}", "{{ invoice.numbr }}", 1)
    line = broken.split("\n").index(next(x for x in broken.split("\n") if "numbr" in x)) + 1
    page.fill("#source", broken)
    page.click("#template-save")
    assert f"line {line}:" in page.locator(".invalid-feedback").inner_text()
    with runtime.session() as s:
        assert s.get(DocumentTemplate, "invoice") is None
    page.fill("#source", source)
    page.click("#template-save")
    assert "The template was saved" in page.inner_text(".alert-success")
    printed = page.context.new_page()
    printed.goto(f"/admin/invoice/print/{bill.id}")
    assert "К оплате" in printed.locator("#amount-due").inner_text()
