"""`abonent webhook list | add URL --events a,b | remove ID | test ID`: the webhook
endpoints (core.webhooks), as an administrator keeps them in Settings → Webhooks."""
from __future__ import annotations

import click

from admin.cli import State, cli, pass_state
from core import webhooks
from core.webhooks_delivery import send_test
from plugins.webhooks import sender_of


@cli.group()
def webhook() -> None:
    """URLs that get chosen events, signed (docs/webhooks.md)."""


@webhook.command("list")
@pass_state
def webhook_list(state: State) -> None:
    """Every endpoint: id, enabled, URL, events, secret's start."""
    with state.ready().session(actor="cli", commit=False) as session:
        rows = webhooks.endpoints(session)
        for e in rows:
            flag = "on " if e.enabled else "off"
            click.echo(f"{e.id:>4} {flag} {e.url}  events: {','.join(e.events)}  "
                       f"secret: {webhooks.shown(e.secret)}"
                       + (f"  ({e.disabled_reason})" if e.disabled_reason else ""))
    if not rows:
        click.echo("no webhook endpoints (abonent webhook add URL --events a,b)")


@webhook.command("add")
@click.argument("url")
@click.option("--events", required=True,
              help="Event names separated by commas, or * for every event.")
@click.option("--description", default="", help="What the endpoint is (a CRM, a site).")
@pass_state
def webhook_add(state: State, url: str, events: str, description: str) -> None:
    """Add an endpoint; its signing secret is printed once: give it to the receiver."""
    with state.ready().session(actor="cli") as session:
        made = webhooks.create_endpoint(session, url, events, description)
    click.echo(f"webhook endpoint {made.endpoint.id} added; its secret, shown only now:",
               err=True)
    click.echo(made.secret)


@webhook.command("remove")
@click.argument("endpoint_id", type=int)
@pass_state
def webhook_remove(state: State, endpoint_id: int) -> None:
    """Remove an endpoint and its log of attempts."""
    with state.ready().session(actor="cli") as session:
        webhooks.delete_endpoint(session, endpoint_id)
    click.echo(f"webhook endpoint {endpoint_id} removed")


@webhook.command("test")
@click.argument("endpoint_id", type=int)
@pass_state
def webhook_test(state: State, endpoint_id: int) -> None:
    """Send a signed webhook_test event to an endpoint now; exit 1 unless it answers 2xx."""
    runtime = state.ready()
    attempt = send_test(runtime, sender_of(runtime), endpoint_id)
    if attempt.status is not None and 200 <= attempt.status < 300:
        click.echo(f"endpoint {endpoint_id} answered {attempt.status} "
                   f"in {attempt.duration_ms} ms")
        return
    answer = (f"answered {attempt.status}: {attempt.response or ''}" if attempt.status
              else f"was not reached: {attempt.error}")
    raise click.ClickException(f"endpoint {endpoint_id} {answer}")
