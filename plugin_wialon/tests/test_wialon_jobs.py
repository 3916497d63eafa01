"""The daily run as the scheduler, the command line and the admin see it: one job per
agent at its run time, its summary kept as the run's result and shown on the jobs page,
`abonent wialon collect`, and the account card's panel."""
from datetime import datetime, timezone
from decimal import Decimal

from click.testing import CliRunner
from sqlalchemy import select

from admin import staff
from admin.permissions import ADMINISTRATOR
from admin.app import create_app
from core.clock import frozen
from core.models import Agent, Manager, Role
from plugin_wialon.cli import wialon
from plugin_wialon.jobs import job_id
from core.jobs import job_specs, last_runs, run_job

PASSWORD = "correct horse 42"


class CliState:
    """What `abonent` hands its commands: the runtime, checked to be ready."""

    def __init__(self, runtime):
        self.runtime = runtime

    def ready(self):
        return self.runtime


def test_one_job_per_enabled_agent_at_its_run_time(world, factory):
    later = factory.agent(type="wialon", name="Wialon 2", token=world.token, run_time="04:15")
    off = factory.agent(type="wialon", name="Off", token=world.token)
    with world.runtime.session() as s:
        s.get(Agent, off.id).enabled = False
    broken = factory.agent(type="wialon", name="Broken", token="short")

    specs = {job: spec for job, (plugin, spec) in job_specs(world.runtime).items()
             if plugin == "wialon"}

    assert {job: spec.cron for job, spec in specs.items()} == {
        job_id(world.agent.id): {"hour": 3, "minute": 30},
        job_id(later.id): {"hour": 4, "minute": 15},
        job_id(broken.id): {"hour": 3, "minute": 30},
    }
    outcome = run_job(world.runtime, job_id(broken.id))
    assert outcome["status"] == "failed"
    assert "settings.token: a Wialon token is 72 characters" in outcome["error"]


def test_the_job_counts_the_operators_today_and_keeps_its_summary(world):
    account = world.account(777, start_on=world.day)
    with frozen(datetime(2026, 5, 4, 3, 30, tzinfo=timezone.utc)):
        outcome = run_job(world.runtime, job_id(world.agent.id), trigger="schedule")

    assert outcome["status"] == "ok"
    result = outcome["result"]
    assert result["summary"] == "Wialon, 2026-05-04: 1 counted, 18.00 charged"
    assert {k: result[k] for k in ("outcome", "today", "counted", "failed", "amount",
                                   "caught_up")} == {
        "outcome": "ok", "today": "2026-05-04", "counted": 1, "failed": 0, "amount": "18.00",
        "caught_up": []}
    (today,) = result["days"]
    assert {k: today[k] for k in ("day", "accounts", "counted", "skipped", "units")} == {
        "day": "2026-05-04", "accounts": 1, "counted": 1, "skipped": 0, "units": 6}
    with world.runtime.session() as s:
        assert last_runs(s)[job_id(world.agent.id)].result == result
    assert world.charges() == {account.id: [(world.day, Decimal(6), Decimal("18.00"))]}


def admin_client(runtime):
    """A test client of the admin, logged in as the first administrator."""
    app = create_app(runtime)
    with runtime.session(actor="test") as s:
        manager = s.scalars(select(Manager).join(Role).where(
            Role.name == ADMINISTRATOR)).first()
        staff.set_password(s, manager.id, PASSWORD)
        login = manager.login
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"login": login, "password": PASSWORD, "csrf_token": token})
    return client


def test_the_jobs_page_and_the_account_card_show_the_run(world, factory):
    account = world.account(777, start_on=world.day)
    failing = world.account(1001, start_on=world.day)
    internet = factory.account()
    world.emulator.state.fail_accounts({1001: 7})
    with frozen(datetime(2026, 5, 4, 3, 30, tzinfo=timezone.utc)):
        run_job(world.runtime, job_id(world.agent.id))
        client = admin_client(world.runtime)
        jobs = client.get("/admin/jobs/").get_data(as_text=True)
        card = client.get(f"/admin/card/{account.id}").get_data(as_text=True)
        other_card = client.get(f"/admin/card/{internet.id}").get_data(as_text=True)

    assert job_id(world.agent.id) in jobs
    assert "<b>counted</b>: 1<br>" in jobs and "<b>failed</b>: 1<br>" in jobs
    assert f"account {failing.id}: ext_id 1001 not found on Wialon" in jobs
    assert 'data-plugin="wialon"' in card
    panel = card.split('data-plugin="wialon"', 1)[1]
    assert "2026-05-04" in panel and "18.00" in panel and ">6<" in panel
    assert internet.login in other_card and 'data-plugin="wialon"' not in other_card


def test_the_command_counts_a_day_and_says_what_failed(world):
    world.account(777)
    failing = world.account(1001)
    world.emulator.state.fail_accounts({1001: 7})
    runner = CliRunner()
    state = CliState(world.runtime)

    dry = runner.invoke(wialon, ["collect", "--date", "2026-05-04", "--dry-run"], obj=state)
    assert dry.exit_code == 1, dry.output
    assert (f"failed   account {failing.id} (ext_id 1001): ext_id 1001 not found on Wialon "
            f"(no such billing account, or the token's user has no access to it; Wialon "
            f"error 7)") in dry.output
    assert "Wialon (Wialon_1), 2026-05-04: 2 account(s): 1 counted, 1 failed, 0 skipped" \
           in dry.output
    assert "dry run: would write 1 line(s); nothing was written" in dry.output
    assert world.charges() == {}

    world.emulator.state.reset_faults()
    real = runner.invoke(wialon, ["collect", "--date", "2026-05-04"], obj=state)
    assert real.exit_code == 0, real.output
    assert "2 account(s): 2 counted, 0 failed, 0 skipped" in real.output
    assert "2 rated, 0 refused, charged" in real.output

    again = runner.invoke(wialon, ["collect", "--date", "2026-05-04", "--agent", "Wialon"],
                          obj=state)
    assert again.exit_code == 0 and "0 counted, 0 failed, 2 skipped" in again.output
    assert "nothing to write" in again.output


def test_the_command_refuses_a_day_that_has_not_begun(world):
    world.account(777)
    with frozen(datetime(2026, 5, 4, 3, 30, tzinfo=timezone.utc)):
        result = CliRunner().invoke(wialon, ["collect", "--date", "2026-05-05"],
                                    obj=CliState(world.runtime))
    assert result.exit_code == 1
    assert ("date: 2026-05-05 has not begun (the operator's today is 2026-05-04): Wialon "
            "counts the objects an account has now") in result.output
    assert world.charges() == {} and world.files(where="") == []


def test_the_command_refuses_an_unknown_agent(world):
    result = CliRunner().invoke(wialon, ["collect", "--agent", "Nope"], obj=CliState(world.runtime))
    assert result.exit_code == 1
    assert "agent: no Wialon agent named or numbered 'Nope'" in result.output
    assert "Traceback" not in result.output
