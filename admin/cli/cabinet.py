"""`abonent account password LOGIN`: set a subscriber's cabinet (/my/) password from the
command line, as a manager sets it on the account card."""
from __future__ import annotations

import click
from sqlalchemy import select

from admin.cli import State, cli, pass_state
from admin.cli.managers import _password
from core.errors import NotFound, ValidationError
from core.models import Account
from core.services import cabinet


@cli.group()
def account() -> None:
    """Accounts (logins on contracts)."""


@account.command("password")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_state
def account_password(state: State, login: str, password_stdin: bool) -> None:
    """Set the cabinet password of the live account LOGIN (its sessions end)."""
    runtime = state.ready()
    with runtime.session(actor="cli") as session:
        found = list(session.scalars(select(Account.id).where(
            Account.login == login, Account.trashed_at.is_(None))))
    if not found:
        raise NotFound("login", f"no live account {login!r}")
    if len(found) > 1:
        raise ValidationError("login", f"{len(found)} accounts of different agents have "
                                       f"login {login!r}; set it on the account card")
    password = _password(password_stdin)
    with runtime.session(actor="cli") as session:
        cabinet.set_password(session, found[0], password)
    click.echo(f"cabinet password of {login} set")
