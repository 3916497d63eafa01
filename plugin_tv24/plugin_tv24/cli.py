"""`abonent tv24 sync [--fix] [--account ID]`: reconcile from the command line.

Prints one line per drift found (and whether it was fixed), then a summary. Exits 1 when
drift is left unfixed or there were errors (the platform could not be read), so a cron
job notices; platform users that no account claims are listed but are no failure (they
are the provider account's business, not drift the billing can repair).
"""
from __future__ import annotations

import click

from core import MAX_KEY
from plugin_tv24.reconcile import counts, reconcile, unfixed
from plugin_tv24.store import PLUGIN


@click.group(PLUGIN)
def tv24() -> None:
    """The 24h TV platform."""


@tv24.command("sync")
@click.option("--fix", is_flag=True, help="Repair the drift found (default: report only).")
@click.option("--account", "account_id", type=click.IntRange(1, MAX_KEY),
              help="Only this account (default: every 24h TV account).")
@click.pass_obj
def sync(state, fix: bool, account_id: int | None) -> None:
    """Compare the platform with the billing and report (or fix) the drift."""
    runtime = state.ready()
    report = reconcile(runtime.context(PLUGIN), account_id, fix)
    if report is None:
        raise click.ClickException(f"account_id: account {account_id} is not on a 24h TV agent")
    for item in report.drift:
        who = f"account {item['account_id']}" if item["account_id"] is not None else "platform"
        mark = "fixed" if item["fixed"] else "found"
        click.echo(f"{mark:<5}  {who:<14} {item['kind']:<20} {item['detail']}")
    for error in report.errors:
        click.echo(f"error  {error}", err=True)
    click.echo(counts(report))
    if unfixed(report) or report.errors:
        raise SystemExit(1)
