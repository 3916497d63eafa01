"""`abonent jambox import | events | balances`: the billing events from the command line.

- `import --from D --to D [--agent ID]`: fetch SGT's events of those days (any number of
  times: nothing is stored twice); exits 1 when a window failed (run it again);
- `events [--from D] [--to D] [--report ID] [--uninvoiced] [--contract ID] [--limit N]`:
  the stored events with their customer, report, price and invoice, then the count and
  the gross total of all that match;
- `balances [--agent ID]`: send the customers' balances to the TV panel now; exits 1
  when some were not sent.
"""
from __future__ import annotations

import click

from core import MAX_KEY
from plugin_jambox.billing_balance import push_balances
from plugin_jambox.billing_import import import_events
from plugin_jambox.billing_list import EventFilter, count_events, list_events

AGENT = click.option("--agent", "agent_id", type=click.IntRange(1, MAX_KEY),
                     help="Only this JAMBOX agent (default: every enabled one).")


@click.command("import")
@click.option("--from", "first", required=True, metavar="YYYY-MM-DD", help="First selling day.")
@click.option("--to", "last", required=True, metavar="YYYY-MM-DD", help="Last selling day.")
@AGENT
@click.pass_obj
def import_command(state, first: str, last: str, agent_id: int | None) -> None:
    """Import SGT's billing events of these days."""
    report = import_events(state.ready(), first, last, agent_id=agent_id, actor="cli")
    for failure in report.failed:
        click.echo(f"failed  {failure}", err=True)
    click.echo(report.summary())
    if report.failed:
        raise SystemExit(1)


@click.command("events")
@click.option("--from", "first", metavar="YYYY-MM-DD", help="Sold on this day or later.")
@click.option("--to", "last", metavar="YYYY-MM-DD", help="Sold on this day or earlier.")
@click.option("--report", "report_id", metavar="ID", help="SGT's monthly report id.")
@click.option("--uninvoiced", is_flag=True, help="Only events not on an invoice yet.")
@click.option("--contract", "contract_id", metavar="ID", help="Only this contract's events.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.pass_obj
def events_command(state, first, last, report_id, uninvoiced: bool, contract_id,
                   limit: int) -> None:
    """List the imported billing events."""
    runtime = state.ready()
    filters = EventFilter.of(first, last, report_id, uninvoiced, contract_id)
    with runtime.session(actor="cli", commit=False) as session:
        rows = list_events(session, filters, limit)
        count, total = count_events(session, filters)
    click.echo(f"{'event':>10}  {'sold':10}  {'customer':>10}  {'contract':12}  "
               f"{'report':>7}  {'gross':>9}  {'VAT%':>6}  invoice  description")
    for row in rows:
        click.echo(f"{row.sms_id:>10}  {row.selling_date}  {row.cust_number:>10}  "
                   f"{row.contract_number or '-':12}  {row.report_id or '-':>7}  "
                   f"{row.gross:>9}  {row.vat_percent:>6}  {row.invoice_number or '-'}  "
                   f"{row.description}")
    shown = f"{len(rows)} shown of " if len(rows) < count else ""
    click.echo(f"{shown}{count} event(s), gross {total}")


@click.command("balances")
@AGENT
@click.pass_obj
def balances_command(state, agent_id: int | None) -> None:
    """Send the customers' balances to the TV panel (setCustomerPaymentInfo) now."""
    report = push_balances(state.ready(), agent_id)
    for failure in report.failed:
        click.echo(f"failed  {failure}", err=True)
    click.echo(report.summary())
    if report.failed:
        raise SystemExit(1)


COMMANDS = [import_command, events_command, balances_command]
