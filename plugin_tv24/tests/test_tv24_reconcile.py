"""Reconciliation (the hook, `abonent tv24 sync`, the nightly job) and the account card's
panel, against an emulator whose state was made to drift behind the billing's back."""
from __future__ import annotations

from click.testing import CliRunner
from admin.cli import cli
from core import Panel
from core.blocking import set_block
from core.links import delete_link
from core.models import Account
from plugin_tv24 import plugin
from plugin_tv24.emulator.forms import NewSubscription
from plugin_tv24.reconcile import reconcile


def kinds(report) -> list[tuple[int | None, str, bool]]:
    return sorted(((d["account_id"] or 0), d["kind"], d["fixed"]) for d in report.drift)


def writes(tv) -> int:
    return sum(1 for r in tv.emulator.state.requests if r.method != "GET")


def drifted(tv):
    """Six synchronised accounts, then the platform changed behind the billing's back."""
    accounts = [tv.account(f"790012300{n:02d}", tv.tariff(device_limit=4)) for n in range(6)]
    with tv.runtime.session() as s:
        set_block(s, accounts[5].id, "admin")
    tv.drain()
    state = tv.emulator.state
    users = [tv.user(a.id) for a in accounts]
    del state.users[users[0].id]                                         # missing_user
    users[1].device_limit = 9                                            # device_limit
    (base,) = state.user_subscriptions(users[1].id)
    state.pause(users[1].id, base.id)                                    # paused
    state.create_subscriptions(users[1].id, [NewSubscription(11)])       # extra_subscription
    state.end_subscription(users[2].id, state.user_subscriptions(users[2].id)[0].id)  # missing
    users[3].is_active = False                                           # user_active
    with tv.runtime.session() as s:
        delete_link(s, "tv24", "user", accounts[4].id)                   # unlinked_user
    state.unpause_all(users[5].id)                                       # paused (blocked)
    state.create_user({"username": "stranger", "phone": "79990000001"})  # unknown_user
    return accounts


def test_drift_is_reported_then_fixed(tv):
    a = [account.id for account in drifted(tv)]
    ctx = tv.runtime.context("tv24")
    before = writes(tv)
    report = reconcile(ctx)
    assert report.checked == 6 and report.errors == []
    assert kinds(report) == sorted([
        (0, "unknown_user", False), (a[0], "missing_user", False),
        (a[0], "missing_subscription", False), (a[1], "device_limit", False),
        (a[1], "paused", False), (a[1], "extra_subscription", False),
        (a[2], "missing_subscription", False), (a[3], "user_active", False),
        (a[4], "unlinked_user", False), (a[5], "paused", False)])
    assert writes(tv) == before  # a report changes nothing
    fixed = reconcile(ctx, fix=True)
    assert all(item["fixed"] for item in fixed.drift if item["kind"] != "unknown_user")
    assert kinds(reconcile(ctx)) == [(0, "unknown_user", False)]
    assert tv.packets(a[0]) == [2] and tv.packets(a[1], "active") == [2]
    assert tv.packets(a[5], "paused") == [2] and tv.user(a[1]).device_limit == 4


def test_one_account_through_the_hook(tv):
    accounts = drifted(tv)
    ctx = tv.runtime.context("tv24")
    report = tv.runtime.pm.call_one("abonent_reconcile", "tv24", ctx=ctx,
                                    account_id=accounts[1].id, fix=True)
    assert report.checked == 1
    assert {item["kind"] for item in report.drift} == {"device_limit", "paused",
                                                        "extra_subscription"}
    assert reconcile(ctx, accounts[1].id).drift == []
    generic = tv.factory.account(login="internet-only")
    assert reconcile(ctx, generic.id) is None


def test_the_platform_unreachable_is_an_error_not_a_crash(tv):
    tv.account()
    tv.drain()
    tv.emulator.faults.down()
    report = reconcile(tv.runtime.context("tv24"), fix=True)
    assert report.drift == [] and len(report.errors) == 1
    assert "cannot read the platform" in report.errors[0] and "HTTP 502" in report.errors[0]


def test_the_cli_reports_and_fixes(tv, abonent_database, tmp_path):
    accounts = drifted(tv)
    config = tmp_path / "abonent.toml"
    config.write_text(f'database_url = "{abonent_database.url}"\nvar_dir = "{tmp_path}"\n')
    runner = CliRunner()
    report = runner.invoke(cli, ["--config", str(config), "tv24", "sync",
                                 "--account", str(accounts[1].id)])
    assert report.exit_code == 1, report.output
    assert f"found  account {accounts[1].id:<6} device_limit" in report.output
    assert report.output.splitlines()[-1] == ("1 account(s) checked, 3 drift, 0 fixed, "
                                              "0 platform user(s) of no account, 0 error(s)")
    fixed = runner.invoke(cli, ["--config", str(config), "tv24", "sync", "--fix",
                                "--account", str(accounts[1].id)])
    assert fixed.exit_code == 0, fixed.output
    assert fixed.output.splitlines()[-1] == ("1 account(s) checked, 3 drift, 3 fixed, "
                                             "0 platform user(s) of no account, 0 error(s)")
    whole = runner.invoke(cli, ["--config", str(config), "tv24", "sync", "--fix"])
    assert whole.exit_code == 0, whole.output  # a stranger is reported, not a failure
    assert "found  platform       unknown_user" in whole.output
    assert whole.output.splitlines()[-1].endswith("1 platform user(s) of no account, 0 error(s)")
    again = runner.invoke(cli, ["--config", str(config), "tv24", "sync"])
    assert again.exit_code == 0 and "1 platform user(s) of no account" in again.output
    generic = tv.factory.account(login="internet-only")
    refused = runner.invoke(cli, ["--config", str(config), "tv24", "sync",
                                  "--account", str(generic.id)])
    assert refused.exit_code == 1 and "is not on a 24h TV agent" in refused.output
    beyond = runner.invoke(cli, ["--config", str(config), "tv24", "sync",
                                 "--account", "99999999999999999999"])
    assert beyond.exit_code == 2 and "'--account'" in beyond.output
    assert beyond.exception is None or isinstance(beyond.exception, SystemExit)


def test_the_nightly_job_fixes_and_summarises(tv, runtime):
    accounts = drifted(tv)
    (job,) = plugin.abonent_jobs(runtime)
    assert (job.id, job.cron) == ("tv24-sync", {"hour": 3, "minute": 30})
    result = job.func(runtime.context("tv24"))
    assert result == {"outcome": "ok", "checked": 6, "drift": 10, "fixed": 9, "errors": [],
                      "summary": "6 account(s) checked, 9 drift, 9 fixed, "
                                 "1 platform user(s) of no account, 0 error(s)"}
    assert tv.packets(accounts[2].id) == [2]


def test_the_nightly_job_fails_when_it_cannot_read_the_platform(tv, runtime):
    tv.account()
    tv.drain()
    tv.emulator.faults.down()
    (job,) = plugin.abonent_jobs(runtime)
    result = job.func(runtime.context("tv24"))
    assert result["outcome"] == "failed" and result["checked"] == 0
    assert "cannot read the platform" in result["summary"] and "HTTP 502" in result["summary"]


def test_the_nightly_job_is_partial_when_a_fix_is_refused(tv, runtime, fault_proxy):
    drifted(tv)
    proxy = fault_proxy(tv.emulator.url)
    tv.configure(api_url=proxy.url)
    proxy.error(status=400, match="PATCH /v2/users/", body=b'{"error": {"message": "No."}, '
                                                            b'"status_code": 400}')
    (job,) = plugin.abonent_jobs(runtime)
    result = job.func(runtime.context("tv24"))
    assert result["outcome"] == "partial" and result["checked"] == 6
    assert len(result["errors"]) == 1 and "No." in result["summary"]


# --- the panel ------------------------------------------------------------------------------

def panel_of(tv, account_id) -> Panel | None:
    with tv.runtime.session() as s:
        return plugin.abonent_account_panel(s, s.get(Account, account_id))


def test_the_panel_shows_both_sides(tv):
    account = tv.account("79001234567", tv.tariff(device_limit=3))
    tv.drain()
    user = tv.user(account.id)
    tv.emulator.state.create_subscriptions(user.id, [NewSubscription(12)])  # not the billing's
    panel = panel_of(tv, account.id)
    rows = dict(panel.rows)
    assert rows["Platform user id"] == user.id and rows["Username"] == "79001234567"
    assert rows["Device limit (billing)"] == 3 and rows["Device limit (platform)"] == 3
    assert rows["Account state"] == "active"
    (caption, header, table), = panel.tables
    assert [(r[2], r[3], r[5]) for r in table] == [(2, "active", "active"), (12, "none", "active")]


def test_the_panel_without_the_platform_still_shows_the_billing(tv):
    account = tv.account()
    tv.drain()
    tv.emulator.faults.down()
    panel = panel_of(tv, account.id)
    assert dict(panel.rows)["Platform"].startswith("unreachable: GET /v2/users/")
    assert [(r[2], r[3], r[5]) for r in panel.tables[0][2]] == [(2, "active", "unknown")]
    assert panel_of(tv, tv.factory.account(login="internet-only").id) is None


def test_the_panel_of_an_account_not_yet_on_the_platform(tv):
    account = tv.account()
    panel = panel_of(tv, account.id)
    assert dict(panel.rows)["Platform user id"] == "not created yet"
    assert [(r[2], r[5]) for r in panel.tables[0][2]] == [(2, "missing")]
