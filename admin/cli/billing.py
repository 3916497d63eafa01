"""`abonent charge run`, `abonent scheduler`, `abonent jobs`: the billing's runs by hand."""
from __future__ import annotations

import json
import signal
import threading

import click
from sqlalchemy import select

from admin.cli import State, cli, pass_state
from core.billing_day import run_day
from core.clock import today
from core.jobs import job_specs, last_runs, run_job, summary_of
from core.models import Account


@cli.group()
def charge() -> None:
    """Periodic charging."""


@charge.command("run")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Billing day (default: today).")
@click.option("--dry-run", is_flag=True, help="Show what would be charged and blocked; write nothing.")
@pass_state
def charge_run(state: State, day, dry_run: bool) -> None:
    """Run the billing day: tariff changes, expiries, blocks, charges, balance blocks.

    Safe to run twice: charges already written are not written again."""
    runtime = state.ready()
    day = day.date() if day else today(runtime.settings.timezone)
    with runtime.session(actor="cli", commit=not dry_run) as session:
        summary = run_day(session, day)
        blocked = session.execute(select(Account.id, Account.login).where(
            Account.id.in_(summary.blocked)).order_by(Account.id)).all()
    verb = "would charge" if dry_run else "charged"
    click.echo(f"{day}: {verb}:")
    for kind, figures in sorted(summary.charges.items()):
        click.echo(f"  {kind:<9} {figures['count']:>8} charges  {figures['amount']:>14}")
    if not summary.charges:
        click.echo("  nothing (already charged, or nothing due)")
    click.echo(f"tariff changes {summary.tariff_changes}, expired {summary.expired}, "
               f"dated blocks started {summary.blocks_started} / ended {summary.blocks_ended}, "
               f"balance blocks lifted {summary.lifted}, "
               f"promised payments expired {summary.promises_expired}")
    click.echo(f"{'would block' if dry_run else 'blocked'} for balance: {len(blocked)}")
    for account_id, login in blocked:
        click.echo(f"  account {account_id} ({login})")
    if dry_run:
        click.echo("dry run: nothing was written")


@cli.command()
@pass_state
def scheduler(state: State) -> None:
    """Run the scheduled jobs (one leader at a time; a second instance waits)."""
    from plugins.scheduler import run_as_leader
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        runtime = state.ready_when_up(stop)
        if runtime is not None:
            click.echo("scheduler waiting for leadership…")
            run_as_leader(runtime, stop)
    except KeyboardInterrupt:
        stop.set()


#: exit codes of `abonent jobs run` by the run's outcome (a cron wrapper can tell them apart)
EXIT_CODES = {"ok": 0, "failed": 1, "partial": 2}


@cli.group(invoke_without_command=True)
@click.pass_context
def jobs(ctx: click.Context) -> None:
    """Scheduled jobs: their schedule and the outcome of their last run (ok, partial,
    failed). `abonent jobs run ID` runs one now."""
    if ctx.invoked_subcommand is not None:
        return
    runtime = ctx.obj.ready()
    specs = job_specs(runtime)  # before the session: a plugin's hook may open its own
    with runtime.session() as session:
        runs = last_runs(session)
        for job_id, (plugin, spec) in sorted(specs.items()):
            run = runs.get(job_id)
            last = (f"{run.status:<8} {run.started_at:%Y-%m-%d %H:%M:%S} ({run.trigger})"
                    if run else f"{'never':<8}")
            summary = summary_of(run) if run else ""
            click.echo(f"{last}  {job_id}  [{plugin}]  cron {spec.cron}"
                       + (f"\n    {summary}" if summary else ""))
            click.echo(f"    {spec.description}")


@jobs.command("run")
@click.argument("job_id")
@pass_state
def jobs_run(state: State, job_id: str) -> None:
    """Run a job now (recorded like a scheduled run) and print its result.

    Exit code: 0 when the run is ok, 1 when it failed, 2 when it was partial (some of
    its work failed)."""
    outcome = run_job(state.ready(), job_id)
    click.echo(json.dumps(outcome, indent=2, default=str))
    click.echo(f"{job_id}: {outcome['status']}"
               + (f": {outcome['summary']}" if outcome["summary"] else ""), err=True)
    raise SystemExit(EXIT_CODES[outcome["status"]])
