"""`abonent payment reverse`, `abonent credit add|promise|instalment`, `abonent charge add`:
corrections of money, each with `--dry-run` (the same work, rolled back)."""
from __future__ import annotations

import click

from admin.cli import KEY, State, cli, pass_state
from admin.cli.billing import charge
from admin.cli.payments import _contract, payment
from core.models import Contract
from core.services.corrections import manual_charge, manual_credit, reverse_payment
from core.services.instalments import create_instalment, due_on, part
from core.services.promises import give_promise

DRY_RUN = click.option("--dry-run", is_flag=True, help="Check and show it; write nothing.")
CONFIRM = click.option("--confirm", is_flag=True,
                       help="Confirm an amount above [money] confirm_above.")


def _done(dry_run: bool, text: str) -> None:
    click.echo(f"{'would be: ' if dry_run else ''}{text}")
    if dry_run:
        click.echo("dry run: nothing was written")


@payment.command("reverse")
@click.argument("payment_id", metavar="ID", type=KEY)
@click.option("--reason", required=True, help="Why (kept with the reversal).")
@DRY_RUN
@pass_state
def payment_reverse(state: State, payment_id: int, reason: str, dry_run: bool) -> None:
    """Reverse a payment (storno): a negative entry linked to it; never a delete."""
    with state.ready().session(actor="cli", commit=not dry_run) as session:
        row = reverse_payment(session, payment_id, reason)
        contract = session.get(Contract, row.contract_id)
        text = (f"payment {payment_id} reversed by {row.id}: {row.amount} on contract "
                f"{contract.number}; balance {contract.balance}")
    _done(dry_run, text)


@cli.group()
def credit() -> None:
    """Credits by hand: a manual credit, a promised payment, equipment in instalments."""


@credit.command("add")
@click.option("--contract", required=True, help="Contract number (or id).")
@click.option("--amount", required=True)
@click.option("--reason", required=True)
@CONFIRM
@DRY_RUN
@pass_state
def credit_add(state: State, contract, amount, reason, confirm: bool, dry_run: bool) -> None:
    """Credit a contract by hand, with a reason."""
    with state.ready().session(actor="cli", commit=not dry_run) as session:
        target = _contract(session, contract)
        row = manual_credit(session, target.id, amount, reason, confirmed=confirm)
        text = (f"credit {row.id}: {row.amount} on contract {target.number}; "
                f"balance {target.balance}")
    _done(dry_run, text)


@credit.command("promise")
@click.option("--contract", required=True, help="Contract number (or id).")
@click.option("--amount", required=True)
@click.option("--reason")
@DRY_RUN
@pass_state
def credit_promise(state: State, contract, amount, reason, dry_run: bool) -> None:
    """Give a promised payment (a temporary credit, [money] promise_*)."""
    with state.ready().session(actor="cli", commit=not dry_run) as session:
        target = _contract(session, contract)
        promise = give_promise(session, target.id, amount, reason=reason)
        text = (f"promised payment {promise.id}: {promise.amount} on contract "
                f"{target.number} until {promise.until}; balance {target.balance}")
    _done(dry_run, text)


@credit.command("instalment")
@click.option("--contract", required=True, help="Contract number (or id).")
@click.option("--title", required=True, help="What is sold, e.g. the router's model.")
@click.option("--price", required=True)
@click.option("--months", required=True, help="How many monthly parts.")
@click.option("--first-on", help="The first part's date, YYYY-MM-DD (default today).")
@CONFIRM
@DRY_RUN
@pass_state
def credit_instalment(state: State, contract, title, price, months, first_on, confirm: bool,
                      dry_run: bool) -> None:
    """Sell equipment in monthly instalments; the parts due by today are charged now."""
    with state.ready().session(actor="cli", commit=not dry_run) as session:
        target = _contract(session, contract)
        plan = create_instalment(session, target.id, title, price, months, first_on=first_on,
                                 confirmed=confirm)
        parts = ", ".join(f"{due_on(plan.first_on, n)} {part(plan.price, plan.months, n)}"
                          for n in range(1, plan.months + 1))
        text = (f"instalment {plan.id}: {plan.title}, {plan.price} in {plan.months} parts "
                f"({parts}); {plan.charged} charged; balance {target.balance}")
    _done(dry_run, text)


@charge.command("add")
@click.option("--contract", required=True, help="Contract number (or id).")
@click.option("--amount", required=True)
@click.option("--reason", required=True)
@CONFIRM
@DRY_RUN
@pass_state
def charge_add(state: State, contract, amount, reason, confirm: bool, dry_run: bool) -> None:
    """Charge a contract by hand, with a reason."""
    with state.ready().session(actor="cli", commit=not dry_run) as session:
        target = _contract(session, contract)
        row = manual_charge(session, target.id, amount, reason, confirmed=confirm)
        text = (f"charge {row.id}: {row.amount} on contract {target.number}; "
                f"balance {target.balance}")
    _done(dry_run, text)
