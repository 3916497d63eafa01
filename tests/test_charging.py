"""The billing day: daily, monthly (prorated) and one-time charges, blocked and trashed
accounts, expiries, planned tariff changes, refunds, purchases, idempotency."""
from __future__ import annotations

from contextlib import nullcontext
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.billing_day import run_day
from core.charging import InsufficientFunds
from core.clock import frozen
from core.errors import ValidationError
from core.blocking import set_block
from core.ledger import verify_balances
from core.models import Charge, Contract, Subscription, TariffChange
from core.services import accounts, subscriptions

NOV = date(2026, 11, 1)


@pytest.fixture
def abonent_plugins(listener):
    return [("listener", listener)]


def run(runtime, *days):
    """Each day's billing run; a day after tomorrow is run on that day (a run more than
    `[billing] charge_days_ahead` ahead is refused), as the scheduler would run it."""
    summaries = []
    for day in days:
        ahead = day > date.today() + timedelta(days=1)
        with (frozen(datetime.combine(day, time(0, 5), timezone.utc)) if ahead
              else nullcontext()), runtime.session() as s:
            summaries.append(run_day(s, day))
    return summaries


def charges(runtime, **where):
    with runtime.session() as s:
        query = select(Charge.key, Charge.period_start, Charge.period_end, Charge.amount,
                       Charge.kind).order_by(Charge.id)
        for column, value in where.items():
            query = query.where(getattr(Charge, column) == value)
        return s.execute(query).all()


def balance(runtime, contract_id):
    with runtime.session() as s:
        return s.get(Contract, contract_id).balance


def days(first: date, count: int):
    return [first + timedelta(days=i) for i in range(count)]


def test_daily_charges_each_day_once(runtime, factory):
    tariff = factory.tariff(base=[factory.service(price="20.00", method="daily")])
    account = factory.account(tariff=tariff, start_on=NOV)
    run(runtime, *days(NOV, 5))
    run(runtime, *days(NOV, 5))  # the same days again: nothing doubles
    rows = charges(runtime, account_id=account.id)
    assert [r.amount for r in rows] == [Decimal("20.00")] * 5
    assert balance(runtime, account.contract_id) == Decimal("-100.00")


def test_monthly_is_prorated_then_whole(runtime, factory):
    tariff = factory.tariff(base=[factory.service(price="600.00", method="monthly")])
    account = factory.account(tariff=tariff, start_on=date(2026, 11, 21),
                              contract=factory.contract(do_not_block=True))
    run(runtime, *days(date(2026, 11, 20), 15))
    rows = charges(runtime, account_id=account.id)
    assert [(r.period_start, r.period_end, r.amount) for r in rows] == [
        (date(2026, 11, 21), date(2026, 11, 30), Decimal("200.00")),  # 10 of 30 days
        (date(2026, 12, 1), date(2026, 12, 31), Decimal("600.00"))]


def test_end_date_prorates_and_expires(runtime, factory, listener, drain):
    service = factory.service(price="310.00", method="monthly")
    account = factory.account(tariff=factory.tariff(extra=[service]), start_on=NOV,
                              contract=factory.contract(do_not_block=True))
    with runtime.session() as s:
        sub = subscriptions.assign_service(s, account.id, service.id, start_on=NOV,
                                           end_on=date(2026, 11, 10))
    run(runtime, *days(NOV, 12))
    assert [r.amount for r in charges(runtime, subscription_id=sub.id)] == [Decimal("103.33")]
    with runtime.session() as s:
        assert s.get(Subscription, sub.id).state == "ended"
    drain()
    expired = [e for e in listener.events if e.name == "subscription_expired"]
    assert expired[0].payload["subscription"]["id"] == sub.id


def test_one_time_is_charged_once(runtime, factory):
    install = factory.service("Installation", kind="one_time", price="1000.00")
    account = factory.account(tariff=factory.tariff(extra=[install]), start_on=NOV,
                              contract=factory.contract(do_not_block=True))
    with runtime.session() as s:
        subscriptions.assign_service(s, account.id, install.id, start_on=NOV)
    run(runtime, *days(NOV, 3))
    assert [(r.kind, r.amount) for r in charges(runtime, service_id=install.id)] == [
        ("one_time", Decimal("1000.00"))]


@pytest.mark.parametrize("charge_when_admin, charged", [(False, 0), (True, 3)])
def test_blocked_accounts_follow_their_tariff(runtime, factory, charge_when_admin, charged):
    tariff = factory.tariff(base=[factory.service(price="10.00", method="daily")],
                            charge_when_admin=charge_when_admin)
    account = factory.account(tariff=tariff, start_on=NOV,
                              contract=factory.contract(do_not_block=True))
    with runtime.session() as s:
        set_block(s, account.id, "admin")
    # the block is open at the start of these (later) days
    future = date.today() + timedelta(days=1)
    run(runtime, *days(future, 3))
    assert len(charges(runtime, account_id=account.id)) == charged


def test_trashed_and_inactive_are_not_charged(runtime, factory):
    daily = factory.service(price="10.00", method="daily")
    tariff = factory.tariff(base=[daily])
    trashed, inactive = factory.account(tariff=tariff), factory.account(tariff=tariff)
    with runtime.session() as s:
        accounts.trash_account(s, trashed.id)
        sub = s.scalar(select(Subscription.id).where(Subscription.account_id == inactive.id))
        subscriptions.deactivate(s, sub)
    run(runtime, date.today())
    assert charges(runtime) == []


def test_removal_refunds_unused_days(runtime, factory):
    service = factory.service(price="300.00", method="monthly")
    account = factory.account(tariff=factory.tariff(base=[service]), start_on=NOV,
                              contract=factory.contract(do_not_block=True))
    run(runtime, NOV)
    with runtime.session() as s:
        sub = s.scalar(select(Subscription).where(Subscription.account_id == account.id))
        sub.end_on = None
        subscriptions.end(s, sub, reason="removed", on=date(2026, 11, 20))
    rows = charges(runtime, account_id=account.id)
    assert [(r.kind, r.period_start, r.amount) for r in rows] == [
        ("periodic", NOV, Decimal("300.00")), ("refund", date(2026, 11, 21), Decimal("-100.00"))]
    assert balance(runtime, account.contract_id) == Decimal("-200.00")
    with runtime.session() as s:
        assert verify_balances(s) == []


def test_planned_tariff_change(runtime, factory, listener, drain):
    old = factory.tariff(base=[factory.service("Old base", price="300.00")])
    new = factory.tariff(base=[factory.service("New base", price="600.00")])
    account = factory.account(tariff=old, contract=factory.contract(do_not_block=True))
    effective = date.today() + timedelta(days=1)
    with runtime.session() as s:
        change = accounts.change_tariff(s, account.id, new.id, on=effective)
    with runtime.session() as s:
        assert s.get(TariffChange, change.id).done_at is None
    summaries = run(runtime, *days(date.today(), 2))
    assert [x.tariff_changes for x in summaries] == [0, 1]
    drain()
    assert listener.names()[-3:] == ["tariff_changed", "subscription_removed",
                                     "subscription_assigned"]
    assert listener.events[-3].payload["effective_on"] == effective.isoformat()
    with runtime.session() as s:
        live = s.scalars(select(Subscription).where(Subscription.account_id == account.id,
                                                    Subscription.state == "active")).all()
        assert [x.service.name for x in live] == ["New base"]
        assert verify_balances(s) == []


def test_purchase_charges_at_once_or_refuses(runtime, factory, counts):
    packet = factory.service("Movies", price="300.00", method="daily")
    account = factory.account(tariff=factory.tariff(extra=[packet]))
    before = counts()
    with pytest.raises(InsufficientFunds) as refused, runtime.session() as s:
        subscriptions.purchase(s, account.id, packet.id)
    assert refused.value.field == "amount" and "300.00 needed, 0.00 available" in refused.value.reason
    assert counts() == before
    with runtime.session() as s:
        from core.services.payments import record_payment
        record_payment(s, account.contract_id, "300", external_id="x")
        sub = subscriptions.purchase(s, account.id, packet.id)
    assert balance(runtime, account.contract_id) == Decimal("0.00")
    run(runtime, date.today())  # the day's run finds the purchase's key: no second charge
    assert len(charges(runtime, subscription_id=sub.id)) == 1


def test_run_summary_counts_and_blocks(runtime, factory):
    tariff = factory.tariff(base=[factory.service(price="50.00", method="daily")])
    poor = factory.account(tariff=tariff)
    (summary,) = run(runtime, date.today())
    assert summary.charges["daily"] == {"count": 1, "amount": Decimal("50.00")}
    assert summary.blocked == [poor.id]
    with runtime.session() as s:
        assert s.scalar(select(func.count()).select_from(Charge)) == 1


def test_a_charge_run_far_ahead_is_refused_before_anything(runtime, factory, counts):
    """`charge run --date 2999-12-31` once charged every subscription and blocked accounts
    today: a run is refused more than `[billing] charge_days_ahead` (1) after today."""
    factory.account(tariff=factory.tariff(base=[factory.service(price="10.00", method="daily")]))
    before = counts()
    for day in (date(2999, 12, 31), date.today() + timedelta(days=2)):
        with pytest.raises(ValidationError) as refused, runtime.session() as s:
            run_day(s, day)
        assert refused.value.field == "day"
        assert refused.value.reason == (
            f"{day} is outside the allowed dates (up to {date.today() + timedelta(days=1)}; "
            f"[billing] charge_days_ahead)")
    assert counts() == before
    tomorrow = run(runtime, date.today() + timedelta(days=1))[0]
    assert tomorrow.charges["daily"]["amount"] == Decimal("10.00")


def test_charge_run_cli_names_the_day_and_its_range(runtime, abonent_database, tmp_path):
    from support import cli_runner
    refused = cli_runner(abonent_database.url, tmp_path)("charge", "run", "--date", "2999-12-31",
                                                         ok=False).stderr
    assert "day: 2999-12-31 is outside the allowed dates (up to " in refused
