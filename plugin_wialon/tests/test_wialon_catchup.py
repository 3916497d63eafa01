"""Days as the operator lives them: the scheduled job over consecutive billing days,
a night Wialon was down or the token wrong caught up the next day, a run-wide failure
said once, and the money of each day (plugins.testing's BillingDays and FaultProxy)."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from plugin_wialon.catchup import count_days
from plugin_wialon.cli import wialon
from plugin_wialon.jobs import job_id
from plugins.testing import BillingDays

from .test_wialon_jobs import CliState

D1, D2, D3 = date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)
OBJECTS_777 = Decimal("18.00")  # 6 objects × 3.00


@pytest.fixture
def abonent_config():
    # A hang costs the test one second, not the default thirty.
    return {"plugins": {"wialon": {"timeout": 1}}}


def days_of(world, *allowed: str) -> BillingDays:
    """The agent's job over billing days; a run ending other than ok or `allowed` fails."""
    return BillingDays(world.runtime, [job_id(world.agent.id)],
                       allow={job_id(world.agent.id): set(allowed)})


def usage_by_day(day_money, contract_id) -> dict[date, Decimal]:
    found: dict[date, Decimal] = {}
    for charge in day_money.charges:
        if charge.contract_id == contract_id and charge.kind == "usage":
            found[charge.period_start] = found.get(charge.period_start, 0) + charge.amount
    return found


def test_three_days_with_unchanged_counts_are_each_charged(world):
    """The daily file is byte-identical on the three days: each day is charged all the same."""
    account = world.account(777, start_on=D1)
    other = world.account(1002, start_on=D1)
    units_1002 = world.emulator.state.account(1002).units

    ran = days_of(world).run(D1, 3)

    assert [usage_by_day(d, account.contract_id) for d in ran] == [
        {D1: OBJECTS_777}, {D2: OBJECTS_777}, {D3: OBJECTS_777}]
    assert [d.balances[account.contract_id] for d in ran] == [
        Decimal("-18.00"), Decimal("-36.00"), Decimal("-54.00")]
    other_day = Decimal(units_1002) * Decimal("3.00")
    assert [d.charged(other.contract_id, kind="usage") for d in ran] == [other_day] * 3
    files = world.files()
    assert len(files) == 3 and len({f.read_bytes() for f in files}) == 1
    assert [d.runs[job_id(world.agent.id)]["result"]["caught_up"] for d in ran] == [[], [], []]


def test_a_day_wialon_was_down_is_caught_up_the_next_day(world, fault_proxy):
    account = world.account(777, start_on=D1)
    proxy = fault_proxy(world.emulator.url)
    world.set_agent(api_url=proxy.url)
    def down_on_d2(day):
        if day == D2:
            proxy.error(status=503, times=100)
        else:
            proxy.clear()

    ran = days_of(world, "failed").run(D1, 3, before=down_on_d2)

    assert [d.runs[job_id(world.agent.id)]["status"] for d in ran] == ["ok", "failed", "ok"]
    assert [usage_by_day(d, account.contract_id) for d in ran] == [
        {D1: OBJECTS_777}, {}, {D2: OBJECTS_777, D3: OBJECTS_777}]
    assert [d.balances[account.contract_id] for d in ran] == [
        Decimal("-18.00"), Decimal("-18.00"), Decimal("-54.00")]
    failed, caught_up = (ran[1].runs[job_id(world.agent.id)]["result"],
                         ran[2].runs[job_id(world.agent.id)]["result"])
    assert failed["summary"] == (
        f"Wialon: nothing counted: Wialon at {proxy.url}/wialon/ajax.html answered "
        f"HTTP 503 Service Unavailable instead of the API's JSON; left for the next run: "
        f"2026-05-02")
    assert caught_up["caught_up"] == ["2026-05-02"]
    assert caught_up["summary"] == ("Wialon, 2026-05-03: 1 counted, 18.00 charged; "
                                    "caught up 2026-05-02 (1 counted, 18.00)")


def test_a_wrong_token_overnight_is_caught_up_oldest_first_once_fixed(world):
    account = world.account(777, start_on=D1)
    world.set_agent(token="x" * 72)

    ran = days_of(world, "failed").run(D1, 2)
    assert [d.charged(account.contract_id) for d in ran] == [Decimal("0.00")] * 2

    world.set_agent(token=world.token)
    (fixed,) = days_of(world).run(D3, 1)
    assert list(usage_by_day(fixed, account.contract_id).items()) == [
        (D1, OBJECTS_777), (D2, OBJECTS_777), (D3, OBJECTS_777)]  # charged oldest first
    assert fixed.balances[account.contract_id] == Decimal("-54.00")
    assert fixed.runs[job_id(world.agent.id)]["result"]["caught_up"] == [
        "2026-05-01", "2026-05-02"]
    # Wialon is asked once per account, not once per day caught up.
    assert world.emulator.state.stats["logins"] == 1


def test_the_catch_up_window_is_the_plugins_setting(world):
    account = world.account(777, start_on=D1)
    today = D1 + timedelta(days=9)
    world.runtime.plugin_configs["wialon"]["catch_up_days"] = 3
    seen = []

    BillingDays(world.runtime, []).run_day(
        today, before=lambda day: seen.append(count_days(world.runtime, world.agent.id)))

    (report,) = seen
    window = [today - timedelta(days=n) for n in (3, 2, 1, 0)]
    assert [(d.day, d.counted) for d in report.days] == [(day, 1) for day in window]
    assert [day for day, _, _ in world.charges()[account.id]] == window  # oldest first


def test_an_unknown_ext_id_makes_the_day_partial_and_the_command_fail(world):
    known = world.account(777, start_on=D3)
    unknown = world.account(778, start_on=D3)

    (day,) = days_of(world, "partial").run(D3, 1)

    run = day.runs[job_id(world.agent.id)]
    assert run["status"] == "partial"
    assert run["result"]["failures"] == [{
        "account_id": unknown.id, "ext_id": "778", "days": ["2026-05-03"],
        "reason": "ext_id 778 not found on Wialon (no such billing account, or the token's "
                  "user has no access to it; Wialon error 7)"}]
    assert day.charged(known.contract_id) == OBJECTS_777
    assert day.charged(unknown.contract_id) == Decimal("0.00")

    result = CliRunner().invoke(wialon, ["collect", "--date", "2026-05-03"],
                                obj=CliState(world.runtime))
    assert result.exit_code == 1
    assert "ext_id 778 not found on Wialon" in result.output


@pytest.mark.parametrize("cause", ["token", "503", "hang"])
def test_a_run_wide_failure_is_said_once_with_its_cause(world, fault_proxy, cause):
    for ext_id in range(1001, 1041):
        world.account(ext_id, start_on=world.day)
    proxy = fault_proxy(world.emulator.url)
    world.set_agent(api_url=proxy.url)
    if cause == "token":
        world.set_agent(token="x" * 72)
        said = "Wialon login refused: Invalid user name or password (bad token) (Wialon error 8)"
    elif cause == "503":
        proxy.error(status=503, times=100)
        said = (f"Wialon at {proxy.url}/wialon/ajax.html answered HTTP 503 Service "
                f"Unavailable instead of the API's JSON")
    else:
        proxy.hang(times=100)
        said = f"Wialon at {proxy.url}/wialon/ajax.html did not answer within 1 s"

    result = CliRunner().invoke(wialon, ["collect", "--date", world.day.isoformat()],
                                obj=CliState(world.runtime))

    assert result.exit_code == 1
    assert result.output.count(said) == 1, result.output
    assert f"error    {world.day}: nothing counted: {said} (40 account(s) left for the next " \
           f"run)" in result.output
    assert "HTTPConnectionPool" not in result.output and "failed   " not in result.output
    assert len(proxy.calls) == 1  # one login attempt, not one per account
    assert world.charges() == {}


def test_the_command_without_a_date_catches_up_and_groups_a_shared_reason(world):
    accounts = [world.account(ext_id, start_on=D2) for ext_id in range(1001, 1009)]
    world.emulator.state.fail_accounts({a: 5 for a in range(1003, 1009)})
    runner, state = CliRunner(), CliState(world.runtime)

    seen = []
    BillingDays(world.runtime, []).run_day(
        D3, before=lambda day: seen.append(runner.invoke(wialon, ["collect"], obj=state)))

    (result,) = seen
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("Wialon, 2026-05-03: 2 counted, ")
    assert "; caught up 2026-05-02 (2 counted, " in lines[0]
    shared = [line for line in lines if line.startswith("failed")]
    named = ", ".join(f"{a.id} (ext_id {a.ext_id})" for a in accounts[2:7])
    assert shared == [f"failed   6 accounts, {named} and 1 more: Error performing request "
                      f"(Wialon error 5)"] * 2  # once for each day, not once per account
    assert {day for day, _, _ in world.charges()[accounts[0].id]} == {D2, D3}
