"""Corrections of money: a payment reversed, manual charges and credits, promised payments
and instalments. Each test asserts the money: balances and the ledger's rows, day by day
where the dates matter (BillingDays), and that a refusal wrote nothing."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import Duplicate, NotFound, ValidationError
from core.clock import frozen
from core.ledger import verify_balances
from core.models import AuditEntry, Block, Charge, Contract, Payment, PromisedPayment
from core.services.corrections import (ConfirmationNeeded, manual_charge, manual_credit,
                                       reverse_payment)
from core.services.instalments import create_instalment
from core.services.payments import record_payment
from core.services.promises import expire_promises, give_promise
from plugins.billing_days import BillingDays

D = Decimal
NOV = date(2026, 11, 2)


@pytest.fixture
def abonent_plugins(listener):
    return [("listener", listener)]


@pytest.fixture
def abonent_config():
    return {"money": {"confirm_above": "1000", "promise_max_amount": "500",
                      "promise_days": "3", "promise_every_days": "10",
                      "instalment_max_months": "12"}}


@pytest.fixture
def daily(factory):
    """An account whose tariff charges 100.00 a day, not while blocked for balance."""
    fee = factory.service(name="Internet", method="daily", price="100.00")
    with frozen(at(date(2026, 11, 1))):
        return factory.account(tariff=factory.tariff(base=[fee]))


def payment_rows(runtime, contract_id):
    with runtime.session() as s:
        return [(p.kind, p.amount, p.comment, p.reverses_id) for p in s.scalars(
            select(Payment).where(Payment.contract_id == contract_id).order_by(Payment.id))]


def balance_blocked(runtime, contract_id) -> bool:
    with runtime.session() as s:
        return s.scalar(select(Block.id).join(Block.account).where(
            Block.account.has(contract_id=contract_id), Block.source == "balance",
            Block.lifted_at.is_(None))) is not None


def at(day: date) -> datetime:
    return datetime.combine(day, time(12), timezone.utc)


def test_reversal_is_a_linked_negative_row_that_blocks_as_the_billing_day(
        runtime, factory, daily, listener, drain):
    days = BillingDays(runtime, ["core.billing_day"])
    paid = {}

    def pay_then_reverse(day):
        with runtime.session(actor="manager:olga") as s:
            if day == NOV:
                paid["id"] = record_payment(s, daily.contract_id, "150.00").payment.id
            elif day == date(2026, 11, 3):
                reverse_payment(s, paid["id"], "typo: paid 15.00, not 150.00")
    ran = days.run(NOV, 3, before=pay_then_reverse)
    # D1: +150 − 100; D2: −150 blocks at once (grace 0) but the day began unblocked, so it
    # is charged; D3 begins blocked: not charged
    assert [d.charged(daily.contract_id) for d in ran] == [D("100.00"), D("100.00"), D("0")]
    assert [d.balances[daily.contract_id] for d in ran] == [
        D("50.00"), D("-200.00"), D("-200.00")]
    assert balance_blocked(runtime, daily.contract_id)
    assert payment_rows(runtime, daily.contract_id) == [
        ("payment", D("150.00"), None, None),
        ("reversal", D("-150.00"), "typo: paid 15.00, not 150.00", paid["id"])]
    with runtime.session() as s:
        assert verify_balances(s) == []
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "reverse")).one()
        assert (entry.actor, entry.object_id, entry.changes["reason"]) == (
            "manager:olga", str(paid["id"]), "typo: paid 15.00, not 150.00")
    drain()
    (event,) = [e for e in listener.events if e.name == "payment_reversed"]
    assert event.payload["payment"]["id"] == paid["id"]
    assert event.payload["payment"]["balance_after"] == "-100.00"  # before D2's fee
    assert event.payload["reason"] == "typo: paid 15.00, not 150.00"


def test_a_payment_is_reversed_once_and_a_refusal_writes_nothing(runtime, factory, counts):
    contract = factory.contract()
    with runtime.session() as s:
        payment = record_payment(s, contract.id, "80.00").payment
        reverse_payment(s, payment.id, "wrong contract")
    before = counts()
    for payment_id, reason, error, field in [
            (payment.id, "again", Duplicate, "payment_id"),
            (999999, "unknown", NotFound, "payment_id"),
            ("abc", "not a number", ValidationError, "payment_id"),
            (payment.id, "  ", ValidationError, "reason")]:
        with pytest.raises(error) as refused, runtime.session() as s:
            reverse_payment(s, payment_id, reason)
        assert refused.value.field == field
    with runtime.session() as s:
        reversal = s.scalars(select(Payment).where(Payment.kind == "reversal")).one()
        with pytest.raises(ValidationError) as refused:
            reverse_payment(s, reversal.id, "undo the undo")
    assert refused.value.field == "payment_id" and "cannot be reversed" in refused.value.reason
    assert counts() == before
    with runtime.session() as s:
        assert s.get(Contract, contract.id).balance == D("0.00")


def test_manual_charge_and_credit_with_reason_confirmation_and_audit(runtime, factory, counts):
    contract = factory.contract()
    with runtime.session(actor="manager:anna") as s:
        manual_credit(s, contract.number, "300.00", "compensation for the outage")
        charge = manual_charge(s, contract.id, "120.50", "cable, 10 m")
    assert payment_rows(runtime, contract.id) == [
        ("credit", D("300.00"), "compensation for the outage", None)]
    with runtime.session() as s:
        row = s.get(Charge, charge.id)
        assert (row.kind, row.amount, row.comment) == ("manual", D("120.50"), "cable, 10 m")
        assert s.get(Contract, contract.id).balance == D("179.50")
        assert [(a.action, a.actor, a.changes["amount"]) for a in s.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(("credit", "charge")))
            .order_by(AuditEntry.id))] == [("credit", "manager:anna", "300.00"),
                                           ("charge", "manager:anna", "120.50")]
    before = counts()
    for call, args, field in [
            (manual_credit, (contract.id, "1000.01", "big"), "confirm"),
            (manual_charge, (contract.id, "5000", "big"), "confirm"),
            (manual_credit, (contract.id, "-5", "negative"), "amount"),
            (manual_credit, (contract.id, "0", "zero"), "amount"),
            (manual_charge, (contract.id, "ten", "text"), "amount"),
            (manual_charge, (contract.id, "10", ""), "reason"),
            (manual_credit, ("NO-SUCH", "10", "unknown"), "contract")]:
        with pytest.raises(ValidationError) as refused, runtime.session() as s:
            call(s, *args)
        assert refused.value.field == field, args
    assert isinstance(refused.value, NotFound)
    assert counts() == before
    with runtime.session() as s:  # confirmed, the large amount goes through
        manual_credit(s, contract.id, "1000.01", "prepaid a year", confirmed=True)
        assert s.get(Contract, contract.id).balance == D("1179.51")


def test_record_payment_is_not_asked_to_confirm_but_the_cli_is(runtime, factory):
    """The threshold is for amounts a person types; a registry or a gateway is not asked."""
    contract = factory.contract()
    with runtime.session() as s:
        record_payment(s, contract.id, "5000.00", source="bank", external_id="b-1")
        with pytest.raises(ConfirmationNeeded):
            manual_credit(s, contract.id, "5000.00", "large")


def test_promised_payment_over_days_expires_and_blocks_again(runtime, factory, daily):
    days = BillingDays(runtime, ["core.billing_day"])

    def promise_on_day_two(day):
        if day == date(2026, 11, 3):
            with runtime.session(actor="manager:olga") as s:
                give_promise(s, daily.contract_id, "300.00", reason="pays on Friday")
    ran = days.run(NOV, 6, before=promise_on_day_two)
    # D1 charged, blocked; D2 the promise lifts the block (after the day began: no fee);
    # D3, D4 charged; D5 charged, then the promise (until D4) expires: −300, blocked;
    # D6 blocked, not charged.
    assert [d.charged(daily.contract_id) for d in ran] == [
        D("100.00"), D("0.00"), D("100.00"), D("100.00"), D("100.00"), D("0.00")]
    assert [d.balances[daily.contract_id] for d in ran] == [
        D("-100.00"), D("200.00"), D("100.00"), D("0.00"), D("-400.00"), D("-400.00")]
    assert balance_blocked(runtime, daily.contract_id)
    with runtime.session() as s:
        promise = s.scalars(select(PromisedPayment)).one()
        assert (promise.until, promise.end_reason, promise.amount) == (
            date(2026, 11, 5), "expired", D("300.00"))
        assert s.get(Payment, promise.closing_id).reverses_id == promise.credit_id
    assert [(k, a) for k, a, _, _ in payment_rows(runtime, daily.contract_id)] == [
        ("promise", D("300.00")), ("promise_end", D("-300.00"))]
    again = days.run_day(date(2026, 11, 6))  # the same day twice: nothing more
    assert again.charged() == D("0.00") and again.balances[daily.contract_id] == D("-400.00")
    with runtime.session() as s, frozen(at(date(2026, 11, 8))):
        assert expire_promises(s, date(2026, 11, 8)) == 0
        assert verify_balances(s) == []


def test_a_payment_covering_the_promise_ends_it(runtime, factory):
    contract = factory.contract()
    with frozen(at(NOV)), runtime.session() as s:
        give_promise(s, contract.id, "200.00")
        record_payment(s, contract.id, "150.00", source="bank", external_id="1")
        assert s.get(Contract, contract.id).balance == D("350.00")  # not covered yet
        record_payment(s, contract.id, "100.00", source="bank", external_id="2")
        assert s.get(Contract, contract.id).balance == D("250.00")  # 250 paid − 0 owed
        promise = s.scalars(select(PromisedPayment)).one()
        assert promise.end_reason == "paid"
    assert [(k, a) for k, a, _, _ in payment_rows(runtime, contract.id)] == [
        ("promise", D("200.00")), ("payment", D("150.00")), ("payment", D("100.00")),
        ("promise_end", D("-200.00"))]


def test_promise_limits_name_the_field_and_write_nothing(runtime, factory, counts):
    contract = factory.contract()
    with frozen(at(NOV)), runtime.session() as s:
        give_promise(s, contract.id, "100.00")
    before = counts()
    with frozen(at(NOV)):
        for amount, field, words in [("500.01", "amount", "at most 500"),
                                     ("0", "amount", "zero"), ("x", "amount", "decimal"),
                                     ("50", "contract", "already has promised payment")]:
            with pytest.raises(ValidationError) as refused, runtime.session() as s:
                give_promise(s, contract.id, amount)
            assert (refused.value.field, words in refused.value.reason) == (field, True)
    assert counts() == before
    with frozen(at(date(2026, 11, 6))), runtime.session() as s:
        assert expire_promises(s, date(2026, 11, 6)) == 1
    with frozen(at(date(2026, 11, 6))), runtime.session() as s, \
            pytest.raises(ValidationError) as refused:
        give_promise(s, contract.id, "100.00")  # within 10 days of the last one
    assert refused.value.field == "contract" and "2026-11-12" in refused.value.reason
    with frozen(at(date(2026, 11, 12))), runtime.session() as s:
        give_promise(s, contract.id, "100.00")
        assert s.get(Contract, contract.id).balance == D("100.00")


def test_instalments_charge_each_month_on_its_date_once(runtime, factory):
    contract = factory.contract()
    with frozen(at(date(2026, 1, 31))), runtime.session() as s:
        plan = create_instalment(s, contract.id, "Router AX3000", "1000.00", 3)
        assert s.get(Contract, contract.id).balance == D("-333.33")  # the first, at once
    days = BillingDays(runtime, ["core.billing_day"])
    ran = [days.run_day(day) for day in (date(2026, 2, 27), date(2026, 2, 28),
                                         date(2026, 2, 28), date(2026, 3, 30),
                                         date(2026, 3, 31), date(2026, 4, 30))]
    assert [d.charged(contract.id) for d in ran] == [
        D("0.00"), D("333.33"), D("0.00"), D("0.00"), D("333.34"), D("0.00")]
    assert [d.balances[contract.id] for d in ran] == [
        D("-333.33"), D("-666.66"), D("-666.66"), D("-666.66"), D("-1000.00"), D("-1000.00")]
    with runtime.session() as s:
        assert [(c.period_start, c.amount, c.comment) for c in s.scalars(
            select(Charge).where(Charge.contract_id == contract.id).order_by(Charge.id))] == [
            (date(2026, 1, 31), D("333.33"), "instalment 1/3: Router AX3000"),
            (date(2026, 2, 28), D("333.33"), "instalment 2/3: Router AX3000"),
            (date(2026, 3, 31), D("333.34"), "instalment 3/3: Router AX3000")]
        assert s.get(type(plan), plan.id).charged == 3


def test_instalment_bad_input_names_the_field(runtime, factory, counts):
    contract = factory.contract()
    before = counts()
    with frozen(at(NOV)):
        for args, kw, field in [(("", "100", 2), {}, "title"),
                                (("TV box", "-1", 2), {}, "price"),
                                (("TV box", "100", 0), {}, "months"),
                                (("TV box", "100", "two"), {}, "months"),
                                (("TV box", "100", 13), {}, "months"),
                                (("TV box", "0.01", 2), {}, "price"),
                                (("TV box", "100", 2), {"first_on": "2027-12-01"}, "first_on"),
                                (("TV box", "2000", 2), {}, "confirm")]:
            with pytest.raises(ValidationError) as refused, runtime.session() as s:
                create_instalment(s, contract.id, *args, **kw)
            assert refused.value.field == field, args
    assert counts() == before
