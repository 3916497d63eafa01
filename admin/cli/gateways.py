"""`abonent gateway`: the payment systems of `[payment_gateways.<name>]` — list them
(secrets masked), and pay through one as its terminals would (plugins.gateway_emulator),
for the demo and for checking a gateway's set-up end to end."""
from __future__ import annotations

import click
import requests

from admin.cli import State, cli, pass_state
from core.errors import NotFound
from core.gateways import configured
from core.money import money
from plugins.gateway_emulator import TerminalNetwork, Unanswered


@cli.group()
def gateway() -> None:
    """Payment systems: list them, pay through one as its terminals would."""


@gateway.command("list")
@pass_state
def gateway_list(state: State) -> None:
    """Each configured gateway: its address, protocol and settings (secrets masked)."""
    gateways = configured(state.runtime)
    if not gateways:
        click.echo("no payment gateways: add a [payment_gateways.<name>] section "
                   "(protocol, secret, …) to the configuration")
    for name, found in sorted(gateways.items()):
        click.echo(f"{name}: /pay/{name}/ ({found.protocol.title}); payments of source "
                   f"{found.source}")
        for key, value in found.shown().items():
            click.echo(f"  {key} = {value}")


@gateway.command("pay")
@click.argument("name")
@click.option("--account", required=True, help="The contract number paid into.")
@click.option("--sum", "amount", required=True, help="The sum, e.g. 150.00.")
@click.option("--txn-id", help="The terminal's transaction id (default: a new one); "
                               "the same one again is the same payment.")
@click.option("--url", help="The web process (default: http://<server.host>:<server.port>).")
@click.option("--check-only", is_flag=True, help="Only ask whether the account takes it.")
@pass_state
def gateway_pay(state: State, name: str, account: str, amount: str, txn_id: str | None,
                url: str | None, check_only: bool) -> None:
    """Pay into ACCOUNT through gateway NAME as its terminals do: check, then pay (sent
    again while the answer is lost). Prints the answer; exits 1 unless result 0."""
    found = configured(state.runtime).get(name)
    if found is None:
        raise NotFound("name", f"no payment gateway {name!r} is configured")
    if found.protocol.code != "osmp":
        raise click.UsageError(f"gateway {name!r} speaks {found.protocol.code}; the emulated "
                               f"terminals speak osmp only")
    server = state.settings.section("server")
    base = (url or f"http://{server['host']}:{server['port']}").rstrip("/")
    terminals = TerminalNetwork(f"{base}/pay/{name}/", found.config["secret"])
    value = money(amount, "sum", allow_zero=False)
    txn_id = txn_id or terminals.new_txn_id()
    try:
        reply = terminals.check(account, value, txn_id)
        if reply.result == 0 and not check_only:
            reply = terminals.pay(account, value, txn_id)
    except (requests.RequestException, Unanswered) as exc:
        raise click.ClickException(f"{base}: no answer ({exc})") from None
    taken = f"; payment {reply.prv_txn} of {reply.sum}" if reply.prv_txn else ""
    click.echo(f"txn {txn_id}: result {reply.result} ({reply.comment}){taken}")
    if reply.result != 0:
        raise SystemExit(1)
