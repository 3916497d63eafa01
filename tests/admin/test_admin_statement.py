"""The statement on the account card: the period form, the printable page with its money,
the CSV, a bad period named on the card, the permissions it needs, and a manager's
journey in Chromium."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from core.clock import today
from core.ledger import add_charge
from core.services.payments import record_payment

D = Decimal


@pytest.fixture
def account(runtime, factory):
    """An account whose contract was paid 250.00 and charged 40.00 today."""
    factory.operator()
    account = factory.account(tariff=factory.tariff(base=[factory.service(
        "Internet", price="600.00")]), login="ivan",
        start_on=today() + timedelta(days=1))
    with runtime.session(actor="test") as s:
        record_payment(s, account.contract_id, "250.00", source="bank", external_id="b1",
                       comment="=HYPERLINK(1)")
        add_charge(s, key="router", contract_id=account.contract_id, amount=D("40.00"),
                   kind="manual", period_start=today(), period_end=today(),
                   comment="router")
    return account


def test_the_card_offers_the_statement_of_this_month(client, account):
    page = client.text(f"/admin/card/{account.id}")
    assert 'id="statement-form"' in page
    assert f'name="from" value="{today().replace(day=1).isoformat()}"' in page
    assert f'name="to" value="{today().isoformat()}"' in page


def test_printable_statement_and_csv_carry_the_money(client, account):
    day = today().isoformat()
    response = client.get(f"/admin/card/{account.id}/statement?from={day}&to={day}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "router" in html and "250.00" in html and "40.00" in html
    assert 'id="closing"' in html and "210.00" in html
    response = client.get(f"/admin/card/{account.id}/statement?from={day}&to={day}&format=csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["kind"], r["charge"], r["payment"], r["balance"]) for r in rows[:4]] == [
        ("opening", "", "", "0.00"), ("payment", "", "250.00", "250.00"),
        ("manual", "40.00", "", "210.00"), ("closing", "40.00", "250.00", "210.00")]
    assert rows[1]["description"] == "bank b1, =HYPERLINK(1)"


@pytest.mark.parametrize("query, message", [
    ("from=2026-02-30&to=2026-03-01", "from: &#39;2026-02-30&#39; is not a date"),
    ("from=2026-03-02&to=2026-03-01", "to: 2026-03-01 is before from (2026-03-02)"),
    ("to=2026-03-01", "from: a date is required"),
])
def test_a_bad_period_is_named_on_the_card(client, account, query, message):
    response = client.get(f"/admin/card/{account.id}/statement?{query}")
    assert response.status_code == 302
    assert message in client.text(response.headers["Location"])


def test_the_statement_needs_payments_and_charges(login_as, account):
    day = today().isoformat()
    url = f"/admin/card/{account.id}/statement?from={day}&to={day}"
    assert login_as("cashier").get(url).status_code == 200
    assert login_as("read-only", "reader").get(url).status_code == 200
    assert login_as("administrator", "boss").get("/admin/card/999999/statement?from="
                                                 f"{day}&to={day}").status_code == 404


def test_a_manager_prints_the_statement_from_the_card(page, runtime, set_up, account,
                                                      password, manager):
    manager("maria", "manager")
    page.goto("/login")
    page.fill("#login", "maria")
    page.fill("#password", password)
    page.click("#login-submit")
    page.goto(f"/admin/card/{account.id}")
    yesterday = (today() - timedelta(days=1)).isoformat()
    page.fill("#statement-from", yesterday)
    with page.context.expect_page() as opened:
        page.click("#statement-print")
    printed = opened.value
    printed.wait_for_load_state()
    assert printed.locator("#opening td").last.inner_text() == "0.00"
    kinds = printed.locator("tr.entry").evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert kinds == ["payment", "manual"]
    assert printed.locator("#closing td").last.inner_text() == "210.00"
