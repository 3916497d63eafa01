"""`abonent wialon collect [--date D] [--agent A] [--dry-run]`: the daily run by hand.

Without --date it does what the scheduled job does: the days of the catch-up window not
yet complete, oldest first, then today (plugin_wialon.catchup); with --date that day only.
Prints why accounts could not be counted (one line per reason: a reason many accounts
share, or a run-wide failure such as a refused token, is said once), then each day's
summary. Exits 1 when something of a day is not charged, so a cron job notices; running
it again counts only what is missing.
"""
from __future__ import annotations

from collections import defaultdict

import click

from core import AbonentError
from plugin_wialon.catchup import count_days
from plugin_wialon.collect import CollectReport, Failure, collect, wialon_agents
from plugin_wialon.config import PLUGIN

#: Accounts named on a line whose reason several accounts share.
NAMED = 5


@click.group(PLUGIN)
def wialon() -> None:
    """Wialon: count GPS-tracking objects for the daily counter service."""


@wialon.command("collect")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]),
              help="Only this day, YYYY-MM-DD (default: the days of the catch-up window not "
                   "yet complete, then the operator's today).")
@click.option("--agent", "agent_ref", help="Only this Wialon agent, by name or id "
                                           "(default: every enabled one).")
@click.option("--dry-run", is_flag=True, help="Count and show what would be written; "
                                              "write and charge nothing.")
@click.pass_obj
def collect_command(state, day, agent_ref: str | None, dry_run: bool) -> None:
    """Count each account's objects in Wialon and charge the day (safe to repeat)."""
    try:
        runtime = state.ready()
        with runtime.session(actor="cli") as session:
            agents = [agent.id for agent in wialon_agents(session, agent_ref)]
    except AbonentError as exc:
        raise click.ClickException(str(exc)) from None
    if not agents:
        raise click.ClickException("no enabled Wialon agent")
    troubled = False
    for agent_id in agents:
        try:
            if day:
                reports = [collect(runtime, agent_id, day.date(), dry_run=dry_run)]
            else:
                run = count_days(runtime, agent_id, dry_run=dry_run)
                reports = run.days
                click.echo(run.line())
        except AbonentError as exc:
            click.echo(f"error    Wialon agent {agent_id}: {exc}", err=True)
            troubled = True
            continue
        for report in reports:
            if day or report is reports[-1] or report.counted or report.troubled:
                _show(report)
            troubled = troubled or report.troubled
    if troubled:
        raise SystemExit(1)


def _show(report: CollectReport) -> None:
    _show_failures(report.failures)
    if report.run_failure:
        click.echo(f"error    {report.day}: {report.run_failure} "
                   f"({report.not_counted} account(s) left for the next run)", err=True)
    if report.error:
        click.echo(f"error    {report.error}", err=True)
    click.echo(f"{report.agent} ({report.source}), {report.day}: {report.accounts} account(s): "
               f"{report.counted} counted, {report.failed} failed, {report.skipped} skipped "
               f"as already counted; {report.units} object(s)"
               + (f", {len(report.without_objects)} account(s) with none"
                  if report.without_objects else ""))
    if report.dry_run:
        click.echo(f"dry run: would write {report.lines} line(s); nothing was written")
    elif report.file:
        click.echo(f"wrote {report.lines} line(s) to {report.file}: {report.rated} rated, "
                   f"{report.rejected} refused, charged {report.amount}")
    elif not report.run_failure:
        click.echo("nothing to write")


def _show_failures(failures: list[Failure]) -> None:
    """One line per reason: per account when it is the account's own, once for many."""
    by_reason: dict[str, list[Failure]] = defaultdict(list)
    for failure in failures:
        by_reason[failure.reason].append(failure)
    for reason, group in by_reason.items():
        named = ", ".join(f"{f.account_id} (ext_id {f.ext_id})" for f in group[:NAMED])
        if len(group) == 1:
            click.echo(f"failed   account {named}: {reason}")
            continue
        more = f" and {len(group) - NAMED} more" if len(group) > NAMED else ""
        click.echo(f"failed   {len(group)} accounts, {named}{more}: {reason}")
