"""A usage record is identified by what the usage is (source, day, the line's own
identity), not by the bytes of the file it came in: byte-identical files of consecutive
days are each charged on their day, the same file taken twice or renamed and dropped
again is charged once; and a rejected record never blocks its correction."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from core.cdr import intake
from core.clock import frozen, today
from core.models import Charge, UsageRecord
from core.services.accounts import change_account
from core.usage import KEY_MAX
from plugins.testing import BillingDays
from test_cdr_spool import abonent_cli, balance, drop, rows  # noqa: F401 (a fixture)
from test_usage_rating import draft, make_counter, record

SAME = b"777;5;1;6\n"


def test_identical_files_of_three_days_are_charged_each_day(runtime, factory):
    """A Wialon file is byte-identical whenever no count changed: each day is charged."""
    first = today(runtime.settings.timezone) - timedelta(days=5)
    with frozen(datetime.combine(first, time(12), timezone.utc)):
        counter = make_counter(runtime, factory)  # subscribed from the first day on
    days = BillingDays(runtime, ["core.cdr_intake"])
    ran = days.run(first, 3, before=lambda day: drop(runtime, f"wialon_{day}.cdr", SAME))
    contract = counter.contract_id
    assert [[(c.period_start, c.amount) for c in d.charges] for d in ran] == [
        [(first + timedelta(days=n), Decimal("18.00"))] for n in range(3)]
    assert [d.charged(contract, kind="usage") for d in ran] == [Decimal("18.00")] * 3
    assert [d.balances[contract] for d in ran] == [
        Decimal("-18.00"), Decimal("-36.00"), Decimal("-54.00")]
    assert [d.runs["core.cdr_intake"]["result"]["taken"] for d in ran] == [1, 1, 1]


def test_the_same_file_twice_and_renamed_is_charged_once(runtime, factory):
    counter = make_counter(runtime, factory)
    day = today(runtime.settings.timezone)
    content = SAME + b"777;5;1;2\n"  # the same identity twice in a file: both count
    drop(runtime, f"wialon_{day}.cdr", content)
    (first,) = intake(runtime)
    assert (first.taken, first.duplicates, first.amount) == (2, 0, Decimal("24.00"))
    drop(runtime, f"wialon_{day}.cdr", content)
    drop(runtime, f"resent-{day:%Y%m%d}.txt", content)
    again = intake(runtime)
    assert [(r.taken, r.duplicates, r.amount) for r in again] == [(0, 2, Decimal("0.00"))] * 2
    # the two lines of a file are rated in no promised order
    assert sorted((c.period_start, c.amount) for c in rows(runtime, Charge)) == [
        (day, Decimal("6.00")), (day, Decimal("18.00"))]
    assert balance(runtime, counter.contract_id) == Decimal("-24.00")
    assert [r.key for r in rows(runtime, UsageRecord)] == [
        f"Wialon_1:{day}:777:5:1", f"Wialon_1:{day}:777:5:1#2"]


def test_a_long_ext_id_gets_a_hashed_key_that_fits(runtime, factory):
    ext_id = "x" * 100
    counter = make_counter(runtime, factory, ext_id=ext_id)
    day = today(runtime.settings.timezone)
    for name in (f"{day}.cdr", f"{day}.again.cdr"):
        drop(runtime, name, f"{ext_id};5;1;1\n".encode())
        intake(runtime)
    (usage,) = rows(runtime, UsageRecord)
    assert usage.state == "rated" and len(usage.key) <= KEY_MAX
    assert usage.key.startswith(f"Wialon_1:{day}:#")
    assert balance(runtime, counter.contract_id) == Decimal("-3.00")


def test_a_corrected_value_supersedes_its_rejected_record(runtime, factory):
    counter = make_counter(runtime, factory)
    day = today(runtime.settings.timezone)
    wrong = record(runtime, draft(key="k1", value="-3", day=day))
    assert (wrong.rejected, wrong.amount) == (1, Decimal("0.00"))
    fixed = record(runtime, draft(key="k1", value="3", day=day))
    assert (fixed.rated, fixed.duplicates, fixed.amount) == (1, 0, Decimal("9.00"))
    again = record(runtime, draft(key="k1", value="3", day=day))
    assert (again.rated, again.duplicates, again.amount) == (0, 1, Decimal("0.00"))
    old, new = rows(runtime, UsageRecord)
    assert (old.key, old.state, old.reason) == (f"k1~superseded:{old.id}", "rejected",
                                                "negative value")
    assert (new.key, new.state, new.value) == ("k1", "rated", Decimal("3"))
    assert balance(runtime, counter.contract_id) == Decimal("-9.00")


def test_a_cdr_line_rejected_for_its_ext_id_rates_when_resent_after_the_fix(runtime, factory):
    counter = make_counter(runtime, factory)
    day = today(runtime.settings.timezone)
    drop(runtime, f"wialon_{day}.cdr", b"778;5;1;6\n")
    (refused,) = intake(runtime)
    assert (refused.taken, refused.rejected, refused.amount) == (0, 1, Decimal("0.00"))
    with runtime.session(actor="test") as s:  # the operator corrects the account's ext_id
        change_account(s, counter.account.id, fields={"ext_id": "778"})
    drop(runtime, f"wialon_{day}.cdr", b"778;5;1;6\n")
    (resent,) = intake(runtime)
    assert (resent.taken, resent.rejected, resent.amount) == (1, 0, Decimal("18.00"))
    assert balance(runtime, counter.contract_id) == Decimal("-18.00")
    with runtime.session() as s:
        states = s.execute(select(UsageRecord.state, UsageRecord.reason)
                           .order_by(UsageRecord.id)).all()
    assert states == [("rejected", "unknown ext_id 778"), ("rated", None)]


def test_usage_add_rates_the_correction_of_a_rejected_value(runtime, factory, abonent_cli):
    counter = make_counter(runtime, factory)
    day = today(runtime.settings.timezone).isoformat()
    args = ("usage", "add", "--ext-id", "777", "--sensor-type", "1", "--day", day)
    assert "rejected: negative value" in abonent_cli(*args, "--value", "-3").stdout
    fixed = abonent_cli(*args, "--value", "3").stdout
    assert "rated: charge" in fixed and "of 9.00" in fixed and "balance -9.00" in fixed
    assert abonent_cli(*args, "--value", "3").stdout.startswith("already recorded")
    assert balance(runtime, counter.contract_id) == Decimal("-9.00")
    assert date.fromisoformat(day) == rows(runtime, Charge)[0].period_start
