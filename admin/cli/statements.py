"""`abonent statement CONTRACT --from D --to D` (a contract's statement for a period) and
`abonent report NAME [--from D --to D] [--format csv|xlsx]` (core.reports), to the standard
output or a file."""
from __future__ import annotations

from pathlib import Path

import click

from admin.cli import OutputFile, State, cli, deliver, pass_state
from admin.cli.invoices import _contract
from core.models import Contract


@cli.command("statement")
@click.argument("contract_ref", metavar="CONTRACT")
@click.option("--from", "first", required=True, help="The first day, YYYY-MM-DD.")
@click.option("--to", "last", required=True,
              help="The last day, YYYY-MM-DD (inclusive; today at the latest).")
@click.option("--format", "fmt", type=click.Choice(["html", "csv", "pdf"]), default="html",
              show_default=True)
@click.option("--output", type=OutputFile(),
              help="Write to this file instead of the standard output.")
@click.option("--send", is_flag=True,
              help="Queue it by e-mail (PDF) to the subscriber instead of printing it; "
                   "once per period and address unless --resend.")
@click.option("--resend", is_flag=True, help="With --send: send it again.")
@pass_state
def statement(state: State, contract_ref: str, first: str, last: str, fmt: str,
              output: Path | None, send: bool, resend: bool) -> None:
    """Print the statement of CONTRACT (number or id): the opening balance, every charge
    and payment of the period with the running balance, the closing balance and totals
    per kind, as a printable HTML page, PDF or CSV; or e-mail it (--send)."""
    from core import statements
    from core.mail import queue_statement
    from core.pdf import to_pdf
    with state.ready().session(actor="cli") as session:
        built = statements.build(session, _contract(session, contract_ref).id, first, last)
        if send:
            queued = queue_statement(session, session.get(Contract, built.contract_id),
                                     built.first_day, built.last_day, resend=resend)
            click.echo(f"statement of {built.number} "
                       f"{'queued' if queued.new else 'already queued or sent'} "
                       f"to {queued.mail.recipient}")
            return
        if fmt == "csv":
            document = statements.render_csv(built)
        else:
            html = statements.render_html(session, built)
            document = to_pdf(html) if fmt == "pdf" else html
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
