"""Corrections of money on the account card: a payment reversed with a reason, a manual
credit and charge, a promised payment and instalments, each behind its permission, a
large amount refused until confirmed, a refusal named on the card with nothing written;
and a manager's journey in Chromium."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from admin.views.dashboard import per_day
from core.models import Contract, Payment, PromisedPayment
from core.services.corrections import manual_credit, reverse_payment
from core.services.payments import record_payment
from core.services.promises import give_promise

D = Decimal


@pytest.fixture
def abonent_config():
    return {"money": {"confirm_above": "1000", "promise_max_amount": "500"}}


@pytest.fixture
def account(runtime, factory):
    """An account whose contract was paid 150.00 (a typo: it was 15.00)."""
    factory.operator()
    account = factory.account(login="ivan")
    with runtime.session(actor="test") as s:
        record_payment(s, account.contract_id, "150.00", source="cash", external_id="c1")
    return account


def money_of(runtime, contract_id):
    with runtime.session() as s:
        return s.get(Contract, contract_id).balance, [
            (p.kind, p.amount, p.comment) for p in s.scalars(
                select(Payment).where(Payment.contract_id == contract_id).order_by(Payment.id))]


def paid_id(runtime, contract_id) -> int:
    with runtime.session() as s:
        return s.scalar(select(Payment.id).where(Payment.contract_id == contract_id))


def test_reverse_credit_charge_and_instalment_from_the_card(client, runtime, account, counts):
    card = f"/admin/card/{account.id}"
    payment = paid_id(runtime, account.contract_id)
    assert f'id="reverse-{payment}"' in client.text(card)
    before = counts()
    client.post(f"{card}/reverse/{payment}", {"reason": " "})
    assert "reason: is required" in client.text(card) and counts() == before
    client.post(f"{card}/reverse/{payment}", {"reason": "typo: 15.00"})
    page = client.text(card)
    assert "reversed. Balance: 0.00" in page and f'id="reverse-{payment}"' not in page
    client.post(f"{card}/credit", {"credit-amount": "1500", "credit-reason": "a year"})
    assert "Confirm a large amount: 1500.00 is above 1000.00" in client.text(card)
    client.post(f"{card}/credit", {"credit-amount": "1500", "credit-reason": "a year",
                                   "credit-confirm": "y"})
    client.post(f"{card}/charge", {"charge-amount": "99,90", "charge-reason": "visit"})
    client.post(f"{card}/instalment", {"instalment-title": "Router", "instalment-price": "300",
                                       "instalment-months": "3"})
    assert "Router in 3 monthly parts. Balance: 1,300.10 RUB" in client.text(card)
    balance, rows = money_of(runtime, account.contract_id)
    assert balance == D("1300.10")
    assert rows == [("payment", D("150.00"), None), ("reversal", D("-150.00"), "typo: 15.00"),
                    ("credit", D("1500.00"), "a year")]


def test_each_correction_needs_its_permission(login_as, runtime, account):
    card = f"/admin/card/{account.id}"
    payment = paid_id(runtime, account.contract_id)
    cashier = login_as("cashier")
    page = cashier.text(card)
    assert "reverse-form" not in page and 'id="promise-form"' not in page
    for url, data in [(f"{card}/reverse/{payment}", {"reason": "x"}),
                      (f"{card}/credit", {"credit-amount": "1", "credit-reason": "x"}),
                      (f"{card}/charge", {"charge-amount": "1", "charge-reason": "x"}),
                      (f"{card}/promise", {"promise-amount": "1"})]:
        assert cashier.post(url, data).status_code == 403, url
    manager = login_as("manager")
    page = manager.text(card)
    assert 'id="promise-form"' in page and "reverse-form" in page
    assert 'id="credit-form"' not in page and 'id="charge-form"' not in page
    assert manager.post(f"{card}/credit", {"credit-amount": "1",
                                           "credit-reason": "x"}).status_code == 403
    assert money_of(runtime, account.contract_id)[0] == D("150.00")


def test_a_payment_of_another_contract_is_not_reversed_here(client, runtime, factory, account):
    other = factory.account()
    payment = paid_id(runtime, account.contract_id)
    client.post(f"/admin/card/{other.id}/reverse/{payment}", {"reason": "x"})
    assert "is not a payment of this contract" in client.text(f"/admin/card/{other.id}")
    assert money_of(runtime, account.contract_id)[0] == D("150.00")


def test_a_manager_reverses_a_payment_and_gives_a_promised_payment(
        page, runtime, set_up, account, password, manager):
    manager("maria", "manager")
    page.goto("/login")
    page.fill("#login", "maria")
    page.fill("#password", password)
    page.click("#login-submit")
    page.goto(f"/admin/card/{account.id}")
    payment = paid_id(runtime, account.contract_id)
    page.fill(f"#reverse-{payment} input[name=reason]", "typo: it was 15.00")
    page.click(f"#reverse-{payment} button")
    assert page.questions[-1].startswith(f"Reverse payment {payment} of 150.00?")
    assert page.locator("#card-balance").inner_text().startswith("0.00")
    assert page.locator("tr.payment-row[data-kind=reversal]").count() == 1
    page.fill("#promise-amount", "600")
    page.click("#promise-form button[type=submit]")
    assert "at most 500.00" in page.locator("body").inner_text()
    page.fill("#promise-amount", "300")
    page.fill("#promise-reason", "pays on Friday")
    page.click("#promise-form button[type=submit]")
    assert "Promised payment of 300.00 until" in page.locator("body").inner_text()
    assert page.locator("#card-balance").inner_text().startswith("300.00")
    with runtime.session() as s:
        promise = s.scalars(select(PromisedPayment)).one()
        assert (promise.amount, promise.created_by, promise.ended_at) == (
            D("300.00"), "manager:maria", None)
    balance, rows = money_of(runtime, account.contract_id)
    assert balance == D("300.00") and rows[-1] == ("promise", D("300.00"), "pays on Friday")


def test_the_dashboard_counts_money_received_not_credits(runtime, account):
    """Today's payments on the dashboard: 150 received, less a 50 storno; a manual credit
    and a promised payment are no money received."""
    with runtime.session(actor="test") as s:
        other = record_payment(s, account.contract_id, "50.00", source="cash",
                               external_id="c2").payment
        reverse_payment(s, other.id, "twice")
        manual_credit(s, account.contract_id, "70.00", "goodwill")
        give_promise(s, account.contract_id, "100.00")
        _, series = per_day(s, "UTC")
    assert series["payments"][-1] == D("150.00")
