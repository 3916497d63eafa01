"""`abonent apikey create NAME --role ROLE | list | revoke NAME`: the REST API's keys
(api.keys), as an administrator makes them in the admin's Settings → API keys."""
from __future__ import annotations

import click

from admin.cli import State, cli, pass_state
from api import keys


@cli.group()
def apikey() -> None:
    """Keys of the REST API at /api/v1/ (the operator's other systems)."""


@apikey.command("create")
@click.argument("name")
@click.option("--role", required=True, help="The role whose permissions the key has.")
@click.option("--rate-limit", type=int, default=600, show_default=True,
              help="Requests a minute the key may make (per web process).")
@pass_state
def apikey_create(state: State, name: str, role: str, rate_limit: int) -> None:
    """Make a key; its token is printed once and never stored: keep it now."""
    with state.ready().session(actor="cli") as session:
        made = keys.create_key(session, name, role, rate_limit=rate_limit)
    click.echo(f"API key {name} (role {role}) created; its token, shown only now:", err=True)
    click.echo(made.token)


@apikey.command("list")
@pass_state
def apikey_list(state: State) -> None:
    """Every key: name, role, rate limit, made, last used, revoked."""
    with state.ready().session(actor="cli", commit=False) as session:
        rows = keys.keys(session)
        for key in rows:
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
            revoked = f"  REVOKED {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else ""
            click.echo(f"{key.name:<24} {key.role.name:<14} {key.rate_limit:>6}/min  "
                       f"made {key.created_at:%Y-%m-%d %H:%M} by {key.created_by}  "
                       f"{used}{revoked}")
    if not rows:
        click.echo("no API keys (abonent apikey create NAME --role ROLE)")


@apikey.command("revoke")
@click.argument("name")
@pass_state
def apikey_revoke(state: State, name: str) -> None:
    """Revoke a key: its token is refused from now on."""
    with state.ready().session(actor="cli") as session:
        keys.revoke_key(session, name)
    click.echo(f"API key {name} revoked")
