"""`abonent wialon collect [--date D] [--agent A] [--dry-run]`: the daily run by hand.

Prints one line per account that could not be counted (and per account Wialon reports
no objects for), then each agent's summary. Exits 1 when an account failed, so a cron
job notices; running it again counts only what is missing.
"""
from __future__ import annotations

import click

from core import AbonentError
from plugin_wialon.collect import CollectReport, collect, wialon_agents
from plugin_wialon.config import PLUGIN


@click.group(PLUGIN)
def wialon() -> None:
    """Wialon: count GPS-tracking objects for the daily counter service."""


@wialon.command("collect")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]),
              help="Day to charge, YYYY-MM-DD (default: the operator's today).")
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
            report = collect(runtime, agent_id, day.date() if day else None, dry_run=dry_run)
        except AbonentError as exc:
            click.echo(f"error    Wialon agent {agent_id}: {exc}", err=True)
            troubled = True
            continue
        _show(report)
        troubled = troubled or bool(report.failures or report.error)
    if troubled:
        raise SystemExit(1)


def _show(report: CollectReport) -> None:
    for failure in report.failures:
        click.echo(f"failed   account {failure.account_id} (ext_id {failure.ext_id}): "
                   f"{failure.reason}")
    for account_id in report.without_objects:
        click.echo(f"empty    account {account_id}: Wialon reports no objects (a unit search "
                   f"finds none for an account id Wialon does not know, too)")
    if report.error:
        click.echo(f"error    {report.error}", err=True)
    click.echo(f"{report.agent} ({report.source}), {report.day}: {report.accounts} account(s): "
               f"{report.counted} counted, {report.failed} failed, {report.skipped} skipped "
               f"as already counted; {report.units} object(s)")
    if report.dry_run:
        click.echo(f"dry run: would write {report.lines} line(s); nothing was written")
    elif report.file:
        click.echo(f"wrote {report.lines} line(s) to {report.file}: {report.rated} rated, "
                   f"{report.rejected} refused, charged {report.amount}")
    else:
        click.echo("nothing to write")
