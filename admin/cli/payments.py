"""`abonent payment`: record one payment, import a payments registry."""
from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import click

from admin.cli import OutputFile, State, cli, pass_state, write_report
from core.errors import NotFound
from core.models import Contract
from core.payment_import import import_payments
from core.money import money
from core.services.corrections import check_confirmed
from core.services.customers import find_contract
from core.services.payments import record_payment


@cli.group()
def payment() -> None:
    """Payments: add one, import a bank's or agent's registry."""


def _contract(session, value: str) -> Contract:
    """A contract by number, else (digits only) by id."""
    try:
        return find_contract(session, value, "contract")
    except NotFound:
        if not value.strip().isdecimal():
            raise
        return find_contract(session, int(value), "contract")


@payment.command("add")
@click.option("--contract", required=True, help="Contract number (or id).")
@click.option("--amount", required=True, help="Amount, e.g. 100.00.")
@click.option("--source", default="manual", show_default=True)
@click.option("--external-id", help="The payer's or bank's id: a replay is recorded once.")
@click.option("--received-at", help="When it was paid, ISO with a time zone (default now).")
@click.option("--comment")
@click.option("--confirm", is_flag=True, help="Confirm an amount above [money] confirm_above.")
@pass_state
def payment_add(state: State, contract, amount, source, external_id, received_at,
                comment, confirm: bool) -> None:
    """Record a payment; prints it and the contract's new balance."""
    with state.ready().session(actor="cli") as session:
        target = _contract(session, contract)
        check_confirmed(session, money(amount, "amount", allow_zero=False), confirm)
        result = record_payment(session, target.id, amount, source=source,
                                external_id=external_id, received_at=received_at,
                                comment=comment)
        paid = result.payment
        session.refresh(target)
        when = paid.received_at.astimezone(ZoneInfo(target.operator.timezone))
        state_word = "recorded" if result.created else "already recorded"
        click.echo(f"payment {paid.id} {state_word}: {paid.amount} on contract {target.number} "
                   f"({paid.source}/{paid.external_id}, {when:%Y-%m-%d %H:%M %Z}); "
                   f"balance {target.balance}")


@payment.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", required=True, help="The bank or agent (external ids are per source).")
@click.option("--report", "report_path", type=OutputFile(),
              help="Also write the per-line report to this CSV file.")
@pass_state
def payment_import(state: State, file: Path, source: str, report_path: Path | None) -> None:
    """Import a registry: lines `date, contract number, amount, external id`."""
    report = import_payments(state.ready(), file, source)
    for line in report.lines:
        detail = (f"payment {line.payment_id}: {line.amount} on {line.contract}"
                  if line.payment_id else line.reason)
        click.echo(f"line {line.line}: {line.outcome} - {detail}")
    click.echo(report.summary())
    write_report(report, report_path)
