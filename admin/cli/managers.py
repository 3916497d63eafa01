"""`abonent manager`: the admin's managers from the command line — the way to set the
first administrator's password without the set-up link, and to recover a lost one."""
from __future__ import annotations

import sys

import click
from sqlalchemy import select

from admin import staff, throttle
from admin.cli import State, cli, pass_state
from admin.languages import LANGUAGES
from admin.permissions import ADMINISTRATOR
from core.clock import now
from core.errors import Duplicate, NotFound
from core.models import Manager, Role


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _manager(session, login: str) -> Manager:
    manager = session.scalars(select(Manager).where(Manager.login == login)).first()
    if manager is None:
        raise NotFound("login", f"no manager {login!r} (see `abonent manager list`)")
    return manager


@cli.group()
def manager() -> None:
    """Managers who log in to the admin."""


@manager.command("create")
@click.argument("login", required=False)
@click.option("--admin", "as_admin", is_flag=True,
              help=f"An administrator; without LOGIN, the first one ({staff.FIRST_ADMIN}) "
                   f"gets its password.")
@click.option("--role", help="Role name (default: manager; administrator with --admin).")
@click.option("--name", help="Full name (default: the login).")
@click.option("--language", type=click.Choice(LANGUAGES), default="en", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_state
def manager_create(state: State, login, as_admin, role, name, language, password_stdin) -> None:
    """Create a manager with a password (or set the first administrator's password)."""
    if not login and not as_admin:
        raise click.UsageError("give a LOGIN, or --admin for the first administrator")
    runtime = state.ready()
    staff.seed(runtime)
    login = login or staff.FIRST_ADMIN
    role = ADMINISTRATOR if as_admin else (role or "manager")
    with runtime.session(actor="cli") as session:
        existing = session.scalars(select(Manager).where(Manager.login == login)).first()
        if existing is not None and not (as_admin and existing.role.name == ADMINISTRATOR):
            raise Duplicate("login", f"manager {login!r} exists; set its password with "
                                     f"`abonent manager password {login}`")
        role_row = session.scalars(select(Role).where(Role.name == role)).first()
        if role_row is None:
            raise NotFound("role", f"no role {role!r}")
    password = _password(password_stdin)
    with runtime.session(actor="cli") as session:
        if existing is not None:
            staff.set_password(session, existing.id, password)
            click.echo(f"password of {login} ({ADMINISTRATOR}) set")
            return
        staff.create_manager(session, login=login, name=name or login, role_id=role_row.id,
                             language=language, password=password)
    click.echo(f"manager {login} created with role {role}")


@manager.command("password")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_state
def manager_password(state: State, login, password_stdin) -> None:
    """Set a manager's password."""
    runtime = state.ready()
    with runtime.session(actor="cli") as session:
        manager_id = _manager(session, login).id
    password = _password(password_stdin)
    with runtime.session(actor="cli") as session:
        staff.set_password(session, manager_id, password)
    click.echo(f"password of {login} set")


@manager.command("link")
@click.argument("login", required=False)
@click.option("--base-url", help="Where the admin is reached (default from [server]).")
@pass_state
def manager_link(state: State, login, base_url) -> None:
    """Print a one-time link for a manager to set a password (default: the first
    administrator)."""
    runtime = state.ready()
    staff.seed(runtime)
    server = state.settings.section("server")
    base_url = (base_url or f"http://{server['host']}:{server['port']}").rstrip("/")
    with runtime.session(actor="cli") as session:
        manager = (_manager(session, login) if login
                   else staff.first_administrator(session))
        if manager is None:
            raise NotFound("login", "there is no active administrator")
        token = staff.issue_setup_token(session, manager.id)
        login = manager.login
    hours = staff.LINK_LIFETIME.total_seconds() // 3600
    click.echo(f"one-time link for {login} (valid {hours:.0f} hours):\n  {base_url}/setup/{token}")


@manager.command("list")
@pass_state
def manager_list(state: State) -> None:
    """Managers, their roles and whether they can log in."""
    runtime = state.ready()
    staff.seed(runtime)
    with runtime.session(actor="cli") as session:
        for row in session.scalars(select(Manager).order_by(Manager.login)):
            can = "password set" if row.password_hash else "no password"
            active = "" if row.active else "  (inactive)"
            click.echo(f"{row.login:<20} {row.role.name:<14} {can}{active}")


@manager.command("locked")
@pass_state
def manager_locked(state: State) -> None:
    """Logins and client addresses held back after failed logins, and for how long."""
    runtime = state.ready()
    limits = throttle.Limits.of(state.settings.section("security"))
    with runtime.session(actor="cli") as session:
        held = throttle.held(session, limits, now())
        for row, seconds in held:
            kind = "locked out" if row.locked_until else "delayed"
            click.echo(f"{row.key:<40} {row.failures:>5} failures  {kind}, {seconds} s left")
    if not held:
        click.echo("no login or address is held back")


@manager.command("unlock")
@click.argument("key")
@pass_state
def manager_unlock(state: State, key: str) -> None:
    """Let a login or an address try again now: KEY is a manager's login, or a key as
    `abonent manager locked` shows it (login:NAME, addr:ADDRESS, and the cabinet's
    my-login:…, my-reset:…, reset-addr:…; a login never holds a colon)."""
    runtime = state.ready()
    key = key if ":" in key else throttle.keys(key, None)[0]
    with runtime.session(actor="cli") as session:
        throttle.unlock(session, key)
    click.echo(f"{key} unlocked")
