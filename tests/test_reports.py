"""Reports: payments per month, source and manager; debtors with the days they have been
overdue, after real billing days; blocked accounts, consumption, revenue, new and lost
contracts on a small population with known money; bad input named; the command line, CSV
and XLSX (opened back with openpyxl)."""
from __future__ import annotations

import csv
import io
from types import SimpleNamespace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from openpyxl import load_workbook

from core import UsageDraft, ValidationError, clock
from core.reports import build, render_csv
from core.xlsx import render_xlsx
from core.models import Contract, Payment, SensorType
from core.services.accounts import trash_account
from core.services.corrections import manual_charge, manual_credit, reverse_payment
from core.services.payments import record_payment
from core.usage import record_usage
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
         date(2026, 11, 3)],
        ["total", 2, D("65.00"), None, None, None],
    ]


@pytest.mark.parametrize("name, first, last, field", [
    ("payments", None, "2026-11-01", "from"),
    ("payments", "2026-11-02", "2026-11-01", "to"),
    ("payments", "2026-11-01", "2999-11-01", "to"),
    ("payments", "yesterday", "2026-11-01", "from"),
    ("debtors", "2026-11-01", None, "from"),
    ("blocked", None, "2026-11-01", "to"),
    ("revenue", "2026-11-01", "2026-11-31", "to"),
    ("nobody", None, None, "name"),
])
def test_bad_input_is_named(runtime, factory, name, first, last, field):
    factory.operator()
    with pytest.raises(ValidationError) as refused:
        report(runtime, name, first, last)
    assert refused.value.field == field


def test_cli_writes_csv_and_xlsx(runtime, paid, abonent_database, tmp_path, factory):
    evil = factory.contract(number="=HYPERLINK(1)")
    with runtime.session(actor="test") as s:
        s.get(Contract, evil.id).balance = D("-12.50")
        s.get(Contract, evil.id).below_limit_since = at(OCT30, 1)
    abonent = cli_runner(abonent_database.url, tmp_path)
    out = abonent("report", "payments", "--from", "2026-10-01", "--to", "2026-11-30").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[-1] == {"month": "total", "kind": "payment", "source": "", "manager": "",
                        "count": "5", "amount": "207.75"}
    assert sum(D(r["amount"]) for r in rows[:-1]) == D("207.75")
    assert out == render_csv(report(runtime, "payments", "2026-10-01", "2026-11-30"))
    target = tmp_path / "debtors.xlsx"
    assert f"report debtors written to {target}" in abonent(
        "report", "debtors", "--format", "xlsx", "--output", str(target)).stdout
    sheet = load_workbook(target).active
    header, first, total = ([c for c in row] for row in sheet.iter_rows())
    assert [c.value for c in header] == [
        "contract", "subscriber", "debt", "credit_limit", "days_overdue", "below_limit_since"]
    # text that looks like a formula stays text; money is a number, the day a date
    assert (first[0].value, first[0].data_type, first[0].quotePrefix) == (
        "=HYPERLINK(1)", "s", True)
    assert (first[2].value, first[2].number_format) == (12.5, "#,##0.00")
    assert first[5].is_date and first[5].value.date() == OCT30
    assert isinstance(first[4].value, int) and first[4].value > 0
    assert [c.value for c in total] == ["total", 1, 12.5, None, None, None]
    assert "name: unknown report 'owed'; known: payments, debtors, blocked" in abonent(
        "report", "owed", ok=False).stderr


def test_xlsx_of_a_period_report(runtime, paid):
    built = report(runtime, "payments", "2026-10-01", "2026-11-30")
    sheet = load_workbook(io.BytesIO(render_xlsx(built))).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == list(built.header)
    assert rows[-1] == ["total", "payment", None, None, 5, 207.75]
    assert [D(str(r[5])) for r in rows[1:]] == [r[5] for r in built.rows]
    assert all(isinstance(r[4], int) for r in rows[1:])


NOV2 = date(2026, 11, 2)


@pytest.fixture
def population(runtime, factory, block):
    """Four contracts from the 30th of October to the 2nd of November (UTC): internet at
    10.00 a day on "net" for C1 (paid 100.00 on 30 Oct, a manual charge of 5.00 on 1 Nov)
    and C3 (its account trashed on 2 Nov: C3 is lost then); a counter (3.00 an object) on
    "meter" for C2 (6 objects on 31 Oct, paid 50.00 on 1 Nov); C4 made on 1 Nov with no
    account. Then A1 is blocked by a manager, A2 paused and switched off, A3 blocked and
    trashed."""
    with runtime.session() as s:
        if s.get(SensorType, 1) is None:
            s.add(SensorType(id=1, name="sensor_1"))
    internet = factory.service("inet", price="10.00", method="daily")
    objects = factory.service("objects", kind="counter", price="0", method="daily",
                              price_per_unit=D("3"), unit_id=5, sensor_type_id=1)
    net, meter = factory.agent(name="net"), factory.agent(name="meter")
    roomy = {"credit_limit": "1000.00"}
    with clock.frozen(at(OCT30, 8)):
        a1 = factory.account(tariff=factory.tariff(base=[internet]), agent=net, start_on=OCT30)
        a2 = factory.account(tariff=factory.tariff(base=[objects]), agent=meter,
                             start_on=OCT30, contract=factory.contract(**roomy),
                             fields={"ext_id": "777"})
        a3 = factory.account(tariff=a1.tariff, agent=net, start_on=OCT30,
                             contract=factory.contract(**roomy))
        record_payment_as(runtime, a1.contract_id, "100.00")
    BillingDays(runtime, ["core.billing_day"]).run(OCT30, 4)
    with clock.frozen(at(NOV2 - timedelta(days=1), 9)):
        factory.contract()
        record_payment_as(runtime, a2.contract_id, "50.00")
        with runtime.session(actor="maria") as s:
            manual_charge(s, a1.contract_id, "5.00", "cable")
    with clock.frozen(at(NOV2, 11)), runtime.session(actor="test") as s:
        record_usage(s, [UsageDraft(key="u1", source="test", ext_id="777", sensor_type_id=1,
                                    value=D("6"), day=OCT30 + timedelta(days=1), unit_id=5)])
    with clock.frozen(at(NOV2, 12)):
        block(a1, "admin")
        block(a2, "voluntary")
        block(a2, "disabled")
        block(a3, "admin")
        with runtime.session(actor="test") as s:
            trash_account(s, a3.id)
    return SimpleNamespace(a1=a1, a2=a2, a3=a3)


def record_payment_as(runtime, contract_id, amount):
    with runtime.session(actor="maria") as session:
        record_payment(session, contract_id, amount, source="bank")


def test_blocked_consumption_revenue_and_subscribers(runtime, population):
    with clock.frozen(at(NOV2, 18)):
        assert report(runtime, "blocked").rows == [
            ["disabled", "meter", 1, 1],   # paused and switched off: the stronger names it
            ["admin", "net", 1, 1],        # A3 is in the trash: not counted
            ["total", None, 2, None]]
        period = ("2026-10-01", "2026-11-02")
        assert report(runtime, "consumption", *period).rows == [
            ["inet", "net", 0, None, 8, D("80.00")],           # 4 days × 2 accounts × 10
            ["manual", None, 0, None, 1, D("5.00")],
            ["objects", "meter", 1, D("6"), 1, D("18.00")],    # 6 objects × 3.00
            ["total", None, 1, None, 10, D("103.00")]]
        assert report(runtime, "revenue", *period).rows == [
            ["2026-10", D("58.00"), D("0.00"), D("58.00"), D("100.00")],
            ["2026-11", D("45.00"), D("0.00"), D("45.00"), D("50.00")],
            ["total", D("103.00"), D("0.00"), D("103.00"), D("150.00")]]
        assert report(runtime, "subscribers", *period).rows == [
            ["2026-10", 3, 0, 3],
            ["2026-11", 1, 1, 0],
            ["total", 4, 1, 3]]
        # a month without anything still has its row (a chart's gap is a zero)
        assert report(runtime, "revenue", "2026-09-01", "2026-09-30").rows == [
            ["2026-09", D("0.00"), D("0.00"), D("0.00"), D("0.00")],
            ["total", D("0.00"), D("0.00"), D("0.00"), D("0.00")]]


