"""Balances to the TV panel (SGT's manual 4.4): each linked customer's balance reaches the
emulated SMS in batches; a customer the SMS does not know is refused alone, the others
still get theirs; an SMS that does not answer fails the run, and says so."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from core.ledger import add_charge
from core.services.payments import record_payment
from plugin_jambox import store
from plugin_jambox.billing_balance import JOB_ID, push_balances


@pytest.fixture
def abonent_config():
    return {"plugins": {"jambox": {"balance_batch": "2"}}}


@pytest.fixture
def three(billing):
    """Three customers with a JAMBOX account: balances 100.00, -30.50 and 0.00."""
    customers = []
    for i in range(3):
        customer = billing.customer()
        billing.jb.account(login=f"tv{i}", contract=customer[0])
        customers.append(customer)
    with billing.runtime.session() as s:
        record_payment(s, customers[0][0].id, "100.00", source="bank", external_id="p1")
        add_charge(s, key="c1", contract_id=customers[1][0].id, amount=D("30.50"),
                   kind="manual", period_start=date(2026, 11, 1), period_end=date(2026, 11, 1))
    return customers


def test_every_linked_customers_balance_reaches_the_tv_panel(billing, three):
    elsewhere = billing.customer()  # linked, but no account on the JAMBOX agent: not sent

    run = billing.runtime.context("jambox").run_job(JOB_ID)

    assert (run["status"], run["summary"]) == (
        "ok", "balances to the TV panel: 3 of 3 customer(s) sent")
    today = date.today()
    assert billing.sms.payment_info == {three[0][1]: (today, D("100.00")),
                                        three[1][1]: (today, D("-30.50")),
                                        three[2][1]: (today, D("0.00"))}
    assert elsewhere[1] not in billing.sms.payment_info
    assert len(billing.jb.calls("setCustomerPaymentInfo")) == 2  # batches of 2


def test_a_customer_the_sms_does_not_know_is_refused_alone(billing, three):
    with billing.runtime.session() as s:
        store.link_customer(s, three[1][0].id, 999)  # a stale link

    report = push_balances(billing.runtime)

    assert report.outcome == "partial"
    assert report.summary() == ("balances to the TV panel: 2 of 3 customer(s) sent; 1 not: "
                                "customer 999: Klient 999 nie istnieje")
    assert set(billing.sms.payment_info) == {three[0][1], three[2][1]}


def test_an_sms_that_does_not_answer_fails_the_run(billing, three, fault_proxy):
    proxy = fault_proxy(billing.jb.emulator.url)
    billing.jb.configure(sms_url=proxy.url)
    proxy.error(503, times=5)

    run = billing.runtime.context("jambox").run_job(JOB_ID)

    assert run["status"] == "failed"
    assert "0 of 3 customer(s) sent; 3 not: agent JAMBOX: setCustomerPaymentInfo: HTTP 503" \
        in run["summary"]
    assert billing.sms.payment_info == {}
    assert len(proxy.calls) == 1  # the agent's run stops at the first batch without answer


def test_balances_from_the_command_line(billing, three):
    with billing.runtime.session() as s:
        store.link_customer(s, three[2][0].id, 999)  # a stale link: exit 1, named

    done = billing.cli("jambox", "balances")

    assert done.returncode == 1
    assert "failed  customer 999: Klient 999 nie istnieje" in done.stderr
    assert "balances to the TV panel: 2 of 3 customer(s) sent" in done.stdout
    assert set(billing.sms.payment_info) == {three[0][1], three[1][1]}
