"""Reports: payments per month, source and manager; debtors with the days they have been
overdue, after real billing days; bad input named; the command line."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import ValidationError, clock
from core.reports import build, render_csv
from core.models import Payment
from core.services.corrections import manual_credit, reverse_payment
from core.services.payments import record_payment
from plugins.testing import BillingDays
from support import cli_runner

D = Decimal
OCT30 = date(2026, 10, 30)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), timezone.utc)


def report(runtime, name, first=None, last=None):
    with runtime.session(actor="test") as session:
        return build(session, name, first, last)


@pytest.fixture
def paid(runtime, factory):
    """Payments across a month's end, by two sources and two managers."""
    first, second = factory.contract(), factory.contract()
    for day, hour, contract, amount, source, actor in [
            (OCT30, 9, first, "100.00", "bank", "maria"),
            (OCT30, 23, second, "50.50", "cash", "maria"),
            (OCT30 + timedelta(days=1), 12, first, "20.00", "cash", "ivan"),
            (OCT30 + timedelta(days=2), 0, second, "30.00", "bank", "maria"),
            (OCT30 + timedelta(days=3), 8, first, "7.25", "bank", "maria")]:
        with clock.frozen(at(day, hour)), runtime.session(actor=actor) as session:
            record_payment(session, contract.id, amount, source=source)
    return first, second


def test_payments_per_month_kind_source_and_manager(runtime, paid):
    first, _second = paid
    with clock.frozen(at(OCT30 + timedelta(days=3), 9)), runtime.session(actor="ivan") as s:
        wrong = s.scalars(select(Payment.id).where(Payment.amount == D("7.25"))).one()
        reverse_payment(s, wrong, "typo")
        manual_credit(s, first.id, "3.00", "goodwill")
    rows = report(runtime, "payments", "2026-10-01", "2026-11-30").rows
    assert rows == [
        ["2026-10", "payment", "bank", "maria", 1, D("100.00")],
        ["2026-10", "payment", "cash", "ivan", 1, D("20.00")],
        ["2026-10", "payment", "cash", "maria", 1, D("50.50")],
        ["2026-11", "credit", "credit", "ivan", 1, D("3.00")],
        ["2026-11", "payment", "bank", "maria", 2, D("37.25")],
        ["2026-11", "reversal", "storno", "ivan", 1, D("-7.25")],
        ["total", "credit", None, None, 1, D("3.00")],
        ["total", "payment", None, None, 5, D("207.75")],
        ["total", "reversal", None, None, 1, D("-7.25")],
    ]
    # a day is whole, from its midnight: the 1st of November holds the 30.00 paid at 00:00
    assert report(runtime, "payments", "2026-11-01", "2026-11-01").rows == [
        ["2026-11", "payment", "bank", "maria", 1, D("30.00")],
        ["total", "payment", None, None, 1, D("30.00")]]
    assert report(runtime, "payments", "2026-09-01", "2026-09-30").rows == []


def test_debtors_with_the_days_they_are_overdue(runtime, factory, pay):
    daily = factory.service("daily 10", price="10.00", method="daily")
    tariff = factory.tariff(base=[daily])
    first_day = date(2026, 11, 1)
    late = factory.account(tariff=tariff, start_on=first_day, login="late")
    trusted = factory.account(tariff=tariff, start_on=first_day, login="trusted",
                              contract=factory.contract(credit_limit="100.00"))
    with clock.frozen(at(first_day, 0)):
        pay(late.contract_id, "25.00")
    ran = BillingDays(runtime, ["core.billing_day"]).run(first_day, 6)
    # 25 → 15 → 5 → −5 on the 3rd, below its limit (0) since then and blocked
    assert [d.balances[late.contract_id] for d in ran] == [
        D("15.00"), D("5.00"), D("-5.00"), D("-5.00"), D("-5.00"), D("-5.00")]
    assert ran[-1].balances[trusted.contract_id] == D("-60.00")
    with clock.frozen(at(date(2026, 11, 6), 12)):
        rows = report(runtime, "debtors").rows
    numbers = {c.id: c.number for c in (late.contract, trusted.contract)}
    assert rows == [
        [numbers[trusted.contract_id], trusted.contract.subscriber.name, D("60.00"),
         D("100.00"), 0, None],
        [numbers[late.contract_id], late.contract.subscriber.name, D("5.00"), D("0.00"), 3,
         "2026-11-03"],
        ["total", 2, D("65.00"), None, None, None],
    ]


@pytest.mark.parametrize("name, first, last, field", [
    ("payments", None, "2026-11-01", "from"),
    ("payments", "2026-11-02", "2026-11-01", "to"),
    ("payments", "2026-11-01", "2999-11-01", "to"),
    ("payments", "yesterday", "2026-11-01", "from"),
    ("debtors", "2026-11-01", None, "from"),
    ("nobody", None, None, "name"),
])
def test_bad_input_is_named(runtime, factory, name, first, last, field):
    factory.operator()
    with pytest.raises(ValidationError) as refused:
        report(runtime, name, first, last)
    assert refused.value.field == field


def test_cli_writes_csv(runtime, paid, abonent_database, tmp_path):
    abonent = cli_runner(abonent_database.url, tmp_path)
    out = abonent("report", "payments", "--from", "2026-10-01", "--to", "2026-11-30").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[-1] == {"month": "total", "kind": "payment", "source": "", "manager": "",
                        "count": "5", "amount": "207.75"}
    assert sum(D(r["amount"]) for r in rows[:-1]) == D("207.75")
    assert out == render_csv(report(runtime, "payments", "2026-10-01", "2026-11-30"))
    target = tmp_path / "debtors.csv"
    assert f"report debtors written to {target}" in abonent(
        "report", "debtors", "--output", str(target)).stdout
    assert target.read_text().splitlines() == [
        "contract,subscriber,debt,credit_limit,days_overdue,below_limit_since",
        "total,0,0.00,,,"]
    assert "name: unknown report 'owed'; known: payments, debtors" in abonent(
        "report", "owed", ok=False).stderr
    assert "to: 2026-10-01 is before from (2026-11-01)" in abonent(
        "report", "payments", "--from", "2026-11-01", "--to", "2026-10-01", ok=False).stderr
