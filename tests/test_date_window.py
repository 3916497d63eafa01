"""One window of dates, enforced in the service layer (core.services.dates), so the CLI,
the admin and plugins get the same refusal naming the field and the allowed range: usage
not in the future nor older than `[billing] usage_days_back` (a CDR file named for such a
day has every line set aside), and tariff changes, dated blocks and subscription starts
at most `plan_days_ahead` days ahead. (Charge runs: tests/test_charging.py; payments:
tests/test_payments.py.)"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from core import ValidationError
from core.blocking import set_block
from core.cdr import intake
from core.clock import frozen
from core.services import accounts, subscriptions
from test_cdr_spool import balance, drop
from test_usage_rating import draft, make_counter, record

TODAY = date(2026, 12, 7)


@pytest.fixture(autouse=True)
def on_today():
    with frozen(datetime(2026, 12, 7, 12, tzinfo=timezone.utc)):
        yield


@pytest.fixture
def abonent_config():
    return {"billing": {"usage_days_back": 90, "plan_days_ahead": 30}}


def refused(call, field: str) -> str:
    with pytest.raises(ValidationError) as error:
        call()
    assert error.value.field == field
    return error.value.reason


def test_usage_outside_its_window_is_refused_and_writes_nothing(runtime, factory, counts):
    counter = make_counter(runtime, factory)
    before = counts()
    for day in (date(2999, 1, 1), TODAY + timedelta(days=1), TODAY - timedelta(days=91)):
        reason = refused(lambda: record(runtime, draft(day=day)), "drafts[0].day")
        assert reason == (f"{day} is outside the allowed dates (from 2026-09-08 to "
                          f"2026-12-07; [billing] usage_days_back)")
    assert counts() == before
    assert record(runtime, draft(day=TODAY)).amount == Decimal("18.00")
    assert balance(runtime, counter.contract_id) == Decimal("-18.00")


def test_a_cdr_file_named_for_a_day_outside_the_window_is_set_aside(runtime, factory):
    counter = make_counter(runtime, factory)
    drop(runtime, "wialon_2999-12-31.cdr", b"777;5;1;6\n\n777;5;1;1\n")
    (report,) = intake(runtime)
    assert (report.lines, report.taken, report.rejected, report.amount) == (
        2, 0, 2, Decimal("0.00"))
    reason = ("day 2999-12-31 is outside the allowed dates (from 2026-09-08 to 2026-12-07; "
              "[billing] usage_days_back)")
    assert report.rejects.read_bytes().splitlines() == [
        f"1;777;5;1;6;{reason}".encode(), f"3;777;5;1;1;{reason}".encode()]
    assert balance(runtime, counter.contract_id) == Decimal("0.00")


def test_plans_far_ahead_are_refused(runtime, factory):
    counter = make_counter(runtime, factory)
    other = factory.tariff(base=[factory.service("Other", price="1.00")])
    extra = factory.service("Extra", price="1.00", method="daily")
    offering = factory.tariff(base=[factory.service("Base", price="1.00")], extra=[extra])
    account = factory.account(tariff=offering)
    far = TODAY + timedelta(days=31)
    allowed = "up to 2027-01-06; [billing] plan_days_ahead"
    assert allowed in refused(lambda: factory.account(tariff=offering, start_on=far), "start_on")
    with runtime.session() as s:
        assert refused(lambda: accounts.change_tariff(s, counter.account.id, other.id,
                                                      on="9999-01-01"), "on") == (
            f"9999-01-01 is outside the allowed dates ({allowed})")
        assert allowed in refused(lambda: subscriptions.assign_service(
            s, account.id, extra.id, start_on=far), "start_on")
        assert allowed in refused(lambda: set_block(
            s, account.id, "voluntary", start_at=datetime(2999, 1, 1, tzinfo=timezone.utc)),
            "start_at")
        assert allowed in refused(lambda: set_block(
            s, account.id, "voluntary", end_at=datetime(2999, 1, 1, tzinfo=timezone.utc)),
            "end_at")
        within = TODAY + timedelta(days=30)
        assert accounts.change_tariff(s, counter.account.id, other.id, on=within).effective_on \
            == within
        block = set_block(s, account.id, "voluntary",
                          end_at=datetime(2027, 1, 6, 12, tzinfo=timezone.utc))
        assert block.end_at.date() == date(2027, 1, 6)
