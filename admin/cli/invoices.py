"""`abonent invoice run | show | list`: the month's invoices by hand, and one as a document."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click
from sqlalchemy.orm import Session

from admin.cli import LIMIT, OutputFile, State, cli, deliver, pass_state
from core.errors import NotFound
from core.models import Contract
from core.services.customers import find_contract


def _contract(session: Session, value: str) -> Contract:
    """A contract by number, or by id when the value is digits no contract is numbered."""
    try:
        return find_contract(session, value, "contract")
    except NotFound:
        if not value.strip().isdecimal():
            raise
    try:
        return find_contract(session, int(value), "contract")
    except NotFound:
        raise NotFound("contract", f"no contract numbered or with id {value.strip()}") from None


@cli.group()
def invoice() -> None:
    """Invoices: issue a month's, show one as HTML, PDF or CSV, send them by e-mail, list
    them."""


@invoice.command("run")
@click.option("--period", required=True, help="The month to invoice, YYYY-MM.")
@click.option("--contract", "contract_ref", help="Only this contract (number or id).")
@click.option("--dry-run", is_flag=True, help="Show what would be issued; write nothing.")
@click.option("--close-early", is_flag=True,
              help="Invoice a month that has not ended yet, on purpose (audited); what "
                   "lands in it later goes on the next invoice as a correction.")
@pass_state
def invoice_run(state: State, period: str, contract_ref: str | None, dry_run: bool,
                close_early: bool) -> None:
    """Issue the invoices of a month that has ended. Safe to run twice: a contract that
    has its invoice for the month is skipped; charges that landed in a month already
    invoiced go on the next invoice as correction lines."""
    from core.documents import quantity_text
    from core.invoicing import invoice_period, parse_period
    runtime = state.ready()
    first = parse_period(period)
    contract_id = None
    if contract_ref is not None:
        with runtime.session(actor="cli") as session:
            contract_id = _contract(session, contract_ref).id
    report = invoice_period(runtime, first, contract_id=contract_id, dry_run=dry_run,
                            close_early=close_early, actor="cli")
    if not (report.issued or report.skipped or report.failed):
        click.echo(f"{first:%Y-%m}: nothing to invoice (no charges in the month)")
        return
    numbers = f" ({report.first_number} … {report.last_number})" if report.issued else ""
    click.echo(f"{first:%Y-%m}: {'would issue' if dry_run else 'issued'} {report.issued} "
               f"invoice(s){numbers}, {report.skipped} skipped as already issued")
    for currency, totals in sorted(report.totals.items()):
        click.echo(f"  {currency}: net {totals.net}  VAT {totals.vat}  gross {totals.gross}")
    if dry_run:
        for example in report.examples:
            click.echo(f"  e.g. {example['number']} (contract id {example['contract_id']}): "
                       f"{example['gross']} {example['currency']}")
            for line in example["lines"]:
                quantity = " ".join(filter(None, [quantity_text(Decimal(line["quantity"])),
                                                  line["unit"]]))
                click.echo(f"      {line['description']}, {quantity}, {line['gross']}")
        click.echo("dry run: nothing was written")
    for failure in report.failed:
        click.echo(f"  not issued: contract id {failure['contract_id']}: {failure['error']}",
                   err=True)
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} invoice(s) not issued, see above")


@invoice.command("show")
@click.argument("number")
@click.option("--format", "fmt", type=click.Choice(["html", "csv", "pdf"]), default="html",
              show_default=True)
@click.option("--act", is_flag=True, help="The act of services rendered instead of the "
                                          "invoice (HTML or PDF).")
@click.option("--output", type=OutputFile(),
              help="Write to this file instead of the standard output.")
@pass_state
def invoice_show(state: State, number: str, fmt: str, act: bool, output: Path | None) -> None:
    """Print invoice NUMBER (or its act) as a printable HTML page, as PDF or as CSV."""
    from core.documents import render_csv, render_html
    from core.invoicing import find_invoice
    from core.pdf import invoice_pdf
    if act and fmt == "csv":
        raise click.UsageError("--act: an act is printed as html or pdf, not csv")
    kind = "act" if act else "invoice"
    with state.ready().session(actor="cli") as session:
        invoice_id = find_invoice(session, number).id
        if fmt == "csv":
            document = render_csv(session, invoice_id)
        else:
            document = (invoice_pdf if fmt == "pdf" else render_html)(session, invoice_id, kind)
    deliver(document, output, f"{kind} {number}")


@invoice.command("send")
@click.argument("number", required=False)
@click.option("--period", help="Every invoice of this month, YYYY-MM (instead of NUMBER).")
@click.option("--act", is_flag=True, help="Send the act of services rendered instead.")
@click.option("--resend", is_flag=True,
              help="Send again what was already queued or sent to the same address.")
@click.option("--dry-run", is_flag=True, help="Show what would be queued; write nothing.")
@pass_state
def invoice_send(state: State, number: str | None, period: str | None, act: bool, resend: bool,
                 dry_run: bool) -> None:
    """Queue invoice NUMBER, or every invoice of --period, by e-mail (the PDF attached) to
    the subscriber's address; the outbox sends them, retrying while the mail server is
    down. Safe to run twice: a document already queued or sent to an address is not sent
    again unless --resend. Subscribers without an e-mail address are named (exit 1)."""
    from sqlalchemy import select

    from core.invoicing import find_invoice, parse_period
    from core.mail import send_invoices
    from core.models import Invoice
    if (number is None) == (period is None):
        raise click.UsageError("give an invoice NUMBER or --period YYYY-MM (one of them)")
    with state.ready().session(actor="cli", commit=not dry_run) as session:
        if number is not None:
            invoices = [find_invoice(session, number)]
        else:
            invoices = session.scalars(select(Invoice).where(
                Invoice.period_start == parse_period(period)).order_by(Invoice.id)).all()
        report = send_invoices(session, invoices, "act" if act else "invoice", resend=resend)
    click.echo(f"{'would queue' if dry_run else 'queued'} {report.queued} e-mail(s), "
               f"{report.already} already queued or sent")
    for refusal in report.refused:
        click.echo(f"  not sent: {refusal}", err=True)
    if dry_run:
        click.echo("dry run: nothing was written")
    if report.refused:
        raise click.ClickException(f"{len(report.refused)} invoice(s) not sent, see above")


@invoice.command("list")
@click.option("--period", help="Only this month, YYYY-MM.")
@click.option("--contract", "contract_ref", help="Only this contract (number or id).")
@click.option("--limit", default=50, show_default=True, type=LIMIT)
@pass_state
def invoice_list(state: State, period: str | None, contract_ref: str | None, limit: int) -> None:
    """Invoices, newest first."""
    from core.invoicing import list_invoices
    with state.ready().session(actor="cli") as session:
        contract_id = _contract(session, contract_ref).id if contract_ref is not None else None
        rows = list_invoices(session, period=period, contract_id=contract_id, limit=limit)
        for invoice, contract_number in rows:
            click.echo(f"{invoice.number}  contract {contract_number}  "
                       f"{invoice.period_start:%Y-%m}  {invoice.gross} {invoice.currency}  "
                       f"issued {invoice.issued_at:%Y-%m-%d %H:%M}")
    if not rows:
        click.echo("no invoices")
