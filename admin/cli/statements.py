"""`abonent statement CONTRACT --from D --to D` (a contract's statement for a period) and
`abonent report NAME [--from D --to D] [--format csv|xlsx]` (core.reports), to the standard
output or a file."""
from __future__ import annotations

from pathlib import Path

import click

from admin.cli import OutputFile, State, cli, deliver, pass_state
from admin.cli.invoices import _contract


@cli.command("statement")
@click.argument("contract_ref", metavar="CONTRACT")
@click.option("--from", "first", required=True, help="The first day, YYYY-MM-DD.")
@click.option("--to", "last", required=True,
              help="The last day, YYYY-MM-DD (inclusive; today at the latest).")
@click.option("--format", "fmt", type=click.Choice(["html", "csv"]), default="html",
              show_default=True)
@click.option("--output", type=OutputFile(),
              help="Write to this file instead of the standard output.")
@pass_state
def statement(state: State, contract_ref: str, first: str, last: str, fmt: str,
              output: Path | None) -> None:
    """Print the statement of CONTRACT (number or id): the opening balance, every charge
    and payment of the period with the running balance, the closing balance and totals
    per kind, as a printable HTML page or as CSV."""
    from core import statements
    with state.ready().session(actor="cli") as session:
        built = statements.build(session, _contract(session, contract_ref).id, first, last)
        render = statements.render_html if fmt == "html" else statements.render_csv
        document = render(built)
    deliver(document, output, f"statement of {built.number}")


@cli.command("report")
@click.argument("name")
@click.option("--from", "first", help="The first day, YYYY-MM-DD (reports of a period).")
@click.option("--to", "last", help="The last day, YYYY-MM-DD, inclusive (reports of a period).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv",
              show_default=True)
@click.option("--output", type=OutputFile(),
              help="Write to this file instead of the standard output.")
@pass_state
def report(state: State, name: str, first: str | None, last: str | None, fmt: str,
           output: Path | None) -> None:
    """Print report NAME as CSV or XLSX. Of a period (--from, --to): `payments` (per
    month, kind, source and manager), `consumption` (charges and usage per service and
    agent), `revenue` (per month), `subscribers` (new and lost contracts per month). Of
    today: `debtors` (with days overdue), `blocked` (accounts per reason and agent)."""
    from core import reports
    from core.xlsx import render_xlsx
    with state.ready().session(actor="cli") as session:
        built = reports.build(session, name, first, last)
    document = render_xlsx(built) if fmt == "xlsx" else reports.render_csv(built)
    deliver(document, output, f"report {name}")
