"""The daily counting run against the emulator, rated by the billing's spool intake:
the seed's worked example, repeat runs, crashes, and every kind of bad input."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select, update

from core import cdr
from core.documents import render_html
from core.invoicing import invoice_period
from core.models import Account, Invoice, UsageRecord
from core.services.accounts import trash_account
from core.services.subscriptions import deactivate
from plugin_wialon import collect as collect_module
from plugin_wialon import spool
from plugin_wialon.selection import targets



def not_found(ext_id) -> str:
    return (f"ext_id {ext_id} not found on Wialon (no such billing account, or the token's "
            f"user has no access to it; Wialon error 7)")


class Killed(BaseException):
    """The process dying: nothing after it runs (not even `except Exception`)."""


def usage_records(runtime) -> int:
    with runtime.session() as s:
        return s.scalar(select(func.count()).select_from(UsageRecord))


def test_the_seed_example_777_with_6_objects_is_charged_18_on_the_act(world):
    account = world.account(777)

    report = world.collect()

    assert (report.accounts, report.counted, report.failed, report.skipped) == (1, 1, 0, 0)
    assert (report.units, report.rated, report.amount) == (6, 1, Decimal("18.00"))
    assert report.file.startswith(f"wialon_{world.day.isoformat()}_")
    assert world.lines() == [f"777;5;{world.sensor.id};6"]
    assert world.charges() == {account.id: [(world.day, Decimal(6), Decimal("18.00"))]}

    invoice_period(world.runtime, date(2026, 5, 1), contract_id=account.contract_id)
    with world.runtime.session() as s:
        invoice = s.scalars(select(Invoice).where(
            Invoice.contract_id == account.contract_id)).one()
        (line,) = invoice.lines
        assert (line.description, line.quantity, line.unit, line.gross) == (
            "GPS tracking, per object", Decimal(6), "pcs", Decimal("18.00"))
        act = render_html(s, invoice.id)
    assert "GPS tracking, per object" in act and "18.00" in act and "pcs" in act


def test_a_second_run_the_same_day_writes_no_line_and_no_charge(world):
    accounts = [world.account(777), world.account(1001)]
    first = world.collect()
    second = world.collect()

    assert first.counted == 2
    assert (second.counted, second.skipped, second.file, second.lines) == (0, 2, None, 0)
    assert len(world.files()) == 1 and len(world.lines()) == 2
    assert sorted(len(c) for c in world.charges().values()) == [1, 1]
    assert set(world.charges()) == {a.id for a in accounts}
    # The next day is a new day.
    assert world.collect(date(2026, 5, 5)).counted == 2


def test_a_run_after_a_failure_counts_only_what_is_missing(world):
    for ext_id, units in ((5001, 1), (5002, 2), (5003, 3)):
        world.emulator.add_account(ext_id, units)
        world.account(ext_id)
    world.emulator.state.fail_accounts({5002: 5})

    first = world.collect()
    assert (first.counted, first.failed) == (2, 1)
    assert first.failures[0].ext_id == "5002"
    assert first.failures[0].reason == "Error performing request (Wialon error 5)"

    world.emulator.state.reset_faults()
    second = world.collect()
    assert (second.counted, second.failed, second.skipped, second.lines) == (1, 0, 2, 1)
    assert sorted(world.lines()) == sorted(f"{e};5;{world.sensor.id};{e - 5000}"
                                           for e in (5001, 5002, 5003))
    assert sorted(amount for charges in world.charges().values()
                  for _, _, amount in charges) == [Decimal("3.00"), Decimal("6.00"),
                                                   Decimal("9.00")]


def test_a_crash_between_the_file_and_its_intake_neither_loses_nor_doubles(world, monkeypatch):
    world.account(777)
    world.account(1001)
    real_intake = collect_module.intake
    calls = []

    def crash_after_writing(runtime, source=None):
        calls.append(source)
        if len(calls) == 2:  # the intake of the file just written
            raise Killed()
        return real_intake(runtime, source)

    monkeypatch.setattr(collect_module, "intake", crash_after_writing)
    with pytest.raises(Killed):
        world.collect()
    assert len(world.files(where="")) == 1 and world.charges() == {}

    monkeypatch.setattr(collect_module, "intake", real_intake)
    again = world.collect()
    assert (again.counted, again.skipped, again.file) == (0, 2, None)
    assert len(world.lines()) == 2
    assert sorted(len(c) for c in world.charges().values()) == [1, 1]


def test_a_file_the_intake_cannot_take_yet_is_not_written_twice(world, monkeypatch):
    account = world.account(777)
    monkeypatch.setattr(collect_module, "intake", lambda runtime, source=None: [])
    first = world.collect()
    assert first.error.endswith("(the intake did not take it); the next intake of the spool does")
    second = world.collect()
    assert (second.skipped, second.file) == (1, None)
    assert len(world.files(where="")) == 1

    monkeypatch.undo()
    assert world.collect().skipped == 1  # takes the waiting file first, then skips
    assert world.charges() == {account.id: [(world.day, Decimal(6), Decimal("18.00"))]}


def test_a_file_the_rating_fails_on_is_rated_by_the_next_run(world, monkeypatch):
    account = world.account(777)

    def pricing_down(*args):
        raise RuntimeError("pricing service down")

    monkeypatch.setattr(cdr, "_rate_file", pricing_down)
    first = world.collect()
    assert first.error.endswith("this run could not rate it (RuntimeError: pricing service "
                                "down); the next intake of the spool does")
    assert len(world.files(where="work")) == 1 and world.charges() == {}

    monkeypatch.undo()
    second = world.collect()
    assert (second.skipped, second.file) == (1, None)
    assert world.charges() == {account.id: [(world.day, Decimal(6), Decimal("18.00"))]}


def test_a_half_written_file_of_a_crashed_run_is_dropped(world):
    world.account(777)
    world.folder.mkdir(parents=True)
    leftover = world.folder / f".wialon-{world.day.isoformat()}-999.part"
    leftover.write_text("777;5;1;6\n")

    report = world.collect()

    assert not leftover.exists()
    assert report.counted == 1 and len(world.lines()) == 1 and len(world.charges()) == 1


def test_one_run_at_a_time_per_spool_folder(world):
    world.account(777)
    with spool.locked(world.folder):
        with pytest.raises(spool.RunInProgress, match="another Wialon counting run"):
            world.collect()
    assert world.collect().counted == 1


def test_a_dry_run_counts_and_writes_nothing(world, table_counts):
    world.account(777)
    before = table_counts()
    report = world.collect(dry_run=True)
    assert (report.counted, report.lines, report.units, report.file) == (1, 1, 6, None)
    assert table_counts() == before and world.files(where="") == []


def test_an_invalid_token_is_one_cause_for_the_run_not_one_per_account(world):
    for ext_id in (777, 1001, 1002):
        world.account(ext_id)
    world.set_agent(token="x" * 72)

    report = world.collect()

    assert report.run_failure == ("nothing counted: Wialon login refused: Invalid user name "
                                  "or password (bad token) (Wialon error 8)")
    assert (report.failures, report.not_counted, report.counted) == ([], 3, 0)
    assert report.file is None and world.charges() == {} and usage_records(world.runtime) == 0


@pytest.mark.parametrize("code", [1, 1011])
def test_a_session_lost_mid_run_logs_in_again(world, code):
    world.account(777)
    world.account(1001)
    world.emulator.state.fail_accounts({1001: code}, times=1)

    report = world.collect()

    assert (report.counted, report.failed) == (2, 0)
    assert world.emulator.state.stats["logins"] == 2


def test_errors_in_part_of_a_batch_fail_those_accounts_only(world):
    accounts = {ext_id: world.account(ext_id) for ext_id in (777, 1001, 1002, 1003)}
    world.emulator.state.fail_accounts({1001: 7, 1003: 14})

    report = world.collect()

    reasons = {f.account_id: f.reason for f in report.failures}
    assert reasons == {accounts[1001].id: not_found(1001),
                       accounts[1003].id: "Billing error (Wialon error 14)"}
    assert accounts[777].id in world.charges()
    assert accounts[1001].id not in world.charges() and accounts[1003].id not in world.charges()


def test_a_non_json_reply_is_a_reason_not_a_crash(world, fault_proxy):
    world.account(777)
    proxy = fault_proxy(world.emulator.url)
    world.set_agent(api_url=proxy.url)
    proxy.error(status=502, body=b"<html>Bad Gateway</html>",
                match=lambda method, path, body: b"core%2Fbatch" in body)

    report = world.collect()

    assert [f.reason for f in report.failures] == [
        f"Wialon at {proxy.url}/wialon/ajax.html answered HTTP 502 Bad Gateway instead of "
        f"the API's JSON"]
    assert world.charges() == {}
    assert world.collect().counted == 1  # once the proxy is well again


@pytest.mark.parametrize("method", ["search", "account_data"])
def test_an_ext_id_wialon_does_not_know_fails_with_its_reason(world, method):
    unknown = world.account(778)
    known = world.account(777)
    world.set_agent(count_method=method)

    report = world.collect()

    assert [(f.account_id, f.ext_id, f.reason) for f in report.failures] == [
        (unknown.id, "778", not_found(778))]
    assert (report.counted, report.failed) == (1, 1)
    assert world.charges() == {known.id: [(world.day, Decimal(6), Decimal("18.00"))]}


def test_an_account_with_no_objects_is_counted_as_0_once(world):
    world.emulator.add_account(5000, units=0)
    empty = world.account(5000)

    first = world.collect()
    assert (first.counted, first.without_objects, first.lines) == (1, [empty.id], 1)
    assert world.charges() == {empty.id: [(world.day, Decimal(0), Decimal("0.00"))]}
    # The day is recorded as counted: objects added later never reach it.
    world.emulator.add_account(5000, units=4)
    again = world.collect()
    assert (again.counted, again.skipped) == (0, 1)
    assert world.charges() == {empty.id: [(world.day, Decimal(0), Decimal("0.00"))]}


def test_accounts_with_no_usable_ext_id(world):
    no_ext_id = world.account()
    words = world.account(5100)
    shared = [world.account(1001), world.account(1001)]
    counted = world.account(777)
    with world.runtime.session() as s:
        s.execute(update(Account).where(Account.id == words.id).values(ext_id="abc"))

    report = world.collect()

    assert {f.account_id: f.reason for f in report.failures} == {
        no_ext_id.id: "the account has no ext_id (its Wialon account id)",
        words.id: "ext_id 'abc' is not a Wialon account id (a whole number above 0)",
        shared[0].id: "ext_id 1001 is shared by 2 accounts: the billing cannot tell whose "
                      "objects they are",
        shared[1].id: "ext_id 1001 is shared by 2 accounts: the billing cannot tell whose "
                      "objects they are",
    }
    assert list(world.charges()) == [counted.id]


def test_a_count_the_billing_refuses_is_a_failure_with_its_reason(world, factory):
    unpriced = factory.service(name="GPS, unpriced", kind="counter", price="0", method="daily",
                               unit_id=5, sensor_type_id=world.sensor.id)
    tariff = factory.tariff(base=[unpriced])
    account = world.account(777, tariff=tariff)

    report = world.collect()

    assert (report.counted, report.rated, report.rejected) == (0, 0, 1)
    assert [(f.account_id, f.reason) for f in report.failures] == [
        (account.id, f"counted, but the billing refused the count: counter service "
                     f"{unpriced.id} has no price per unit")]


def test_who_is_counted_is_one_set_based_query(world, factory):
    counted = world.account(777)
    world.account(1001, tariff=factory.tariff())  # no counter service
    monthly = factory.service(kind="counter", price="0", method="monthly", unit_id=5,
                              price_per_unit=Decimal(1), sensor_type_id=world.sensor.id)
    world.account(1002, tariff=factory.tariff(base=[monthly]))
    world.account(1003, start_on=date(2026, 5, 10))  # starts later
    trashed, inactive = world.account(1004), world.account(1005)
    other_agent = factory.agent(type="wialon", name="Wialon 2", api_url="http://127.0.0.1:9",
                                token=world.token)
    world.account(1006, agent=other_agent)
    with world.runtime.session() as s:
        trash_account(s, trashed.id)
        (subscription,) = s.get(Account, inactive.id).subscriptions
        deactivate(s, subscription.id)

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(world.runtime.engine, "before_cursor_execute", listener)
    try:
        with world.runtime.session() as s:
            found = targets(s, world.agent.id, "Wialon_1", world.day)
    finally:
        event.remove(world.runtime.engine, "before_cursor_execute", listener)

    assert [(t.account_id, t.ext_id, t.sensor_type_id, t.done) for t in found] == [
        (counted.id, "777", world.sensor.id, False)]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
