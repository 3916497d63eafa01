"""`abonent events`: the outbox, seen and handled from the command line."""
from __future__ import annotations

import click

from admin.cli import KEY, LIMIT, State, cli, pass_state


@cli.group()
def events() -> None:
    """The event outbox: list, retry, drain."""


@events.command("list")
@click.option("--state", "status", type=click.Choice(["pending", "done", "dead"]))
@click.option("--failing", is_flag=True, help="Pending deliveries that have failed at least once.")
@click.option("--plugin")
@click.option("--account", "account_id", type=KEY)
@click.option("--limit", default=50, show_default=True, type=LIMIT)
@pass_state
def events_list(state: State, status, failing, plugin, account_id, limit) -> None:
    """Deliveries, newest first, with their last error."""
    from plugins.outbox import counts, list_deliveries
    with state.ready().session(actor="cli") as session:
        totals = counts(session)
        rows = list_deliveries(session, state=status, plugin=plugin, account_id=account_id,
                               failing=failing, limit=limit)
        for (plugin_name, kind), n in sorted(totals.items()):
            click.echo(f"{plugin_name:>12} {kind:<8} {n}")
        for delivery, event in rows:
            error = f"  last error: {delivery.last_error}" if delivery.last_error else ""
            click.echo(f"#{delivery.id} event {event.id} {event.name} account={event.account_id} "
                       f"plugin={delivery.plugin} state={delivery.state} "
                       f"attempts={delivery.attempts}{error}")


@events.command("retry")
@click.argument("delivery_ids", nargs=-1, type=KEY)
@click.option("--all-dead", is_flag=True, help="Retry every dead-lettered delivery.")
@click.option("--plugin", help="With --all-dead: only this plugin's.")
@pass_state
def events_retry(state: State, delivery_ids, all_dead, plugin) -> None:
    """Put dead-lettered (or failing) deliveries back in the queue, now."""
    from plugins.outbox import retry
    if not delivery_ids and not all_dead:
        raise click.UsageError("give delivery ids or --all-dead")
    with state.ready().session(actor="cli") as session:
        count = retry(session, list(delivery_ids) if delivery_ids else None, plugin=plugin)
    click.echo(f"{count} deliveries queued again")


@events.command("drain")
@pass_state
def events_drain(state: State) -> None:
    """Deliver everything that is due now, then exit."""
    from plugins.outbox import Outbox
    click.echo(f"delivered {Outbox(state.ready()).drain()} deliveries")
