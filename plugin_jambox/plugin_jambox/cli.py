"""`abonent jambox …`: the SMS functions an operator scripts.

    abonent jambox sync [--fix] [--account ID]
    abonent jambox customers export CONTRACT | custidupdate | list | pins CONTRACT
                             | suspend-invoicing CONTRACT --on/--off
    abonent jambox packages
    abonent jambox services list ACCOUNT | activate | terminate | upgrades | upgrade
                            | gifts | gift  ACCOUNT SERVICE …
    abonent jambox stb register MAC --serial S --model M | remove MAC | list
                       | issue ACCOUNT MAC --subnet N | return ACCOUNT MAC
    abonent jambox subnets list | split ID [--name1 A --name2 B]
    abonent jambox messages send (--contract C | --all) … | list | delete

Bad input is refused naming the option, before anything is sent; the SMS's refusal is
shown with SGT's text; neither is a traceback. Other modules of the plugin add their
commands to the group (`jambox.add_command`).
"""
from __future__ import annotations

import functools
from typing import Callable

import click

from core import MAX_KEY, AbonentError, Account
from plugin_jambox.client import JamboxFault, JamboxUnavailable
from plugin_jambox.desk import SORTS, Desk, set_invoicing_suspended
from plugin_jambox.inputs import READ_CONFIRMATION
from plugin_jambox.reconcile import counts, reconcile, unfixed
from plugin_jambox.store import PLUGIN

ID = click.IntRange(1, MAX_KEY)


def sms_errors(command: Callable) -> Callable:
    """The SMS's refusal (SGT's text), its silence, and refused input as one line each."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except JamboxFault as exc:
            raise click.ClickException(f"the SMS refused {exc.method}: {exc.message}") from None
        except JamboxUnavailable as exc:
            raise click.ClickException(f"the SMS did not answer: {exc}") from None
        except AbonentError as exc:
            raise click.ClickException(str(exc)) from None
    return run


def _desk(state, agent_id: int | None = None, account_id: int | None = None) -> Desk:
    """The desk of the agent given, of the account's agent, or of the only agent."""
    runtime = state.ready()
    ctx = runtime.context(PLUGIN)
    if account_id is not None and agent_id is None:
        with ctx.session() as session:
            account = session.get(Account, account_id)
            agent_id = account.agent_id if account is not None else None
    return Desk.of(ctx, agent_id)


agent_option = click.option("--agent", "agent_id", type=ID,
                            help="The JAMBOX agent (default: the only one).")


@click.group(PLUGIN)
def jambox() -> None:
    """JAMBOX IPTV (SGT's SMS)."""


@jambox.command("sync")
@click.option("--fix", is_flag=True, help="Repair the drift found (default: report only).")
@click.option("--account", "account_id", type=ID,
              help="Only this account (default: every JAMBOX account).")
@click.pass_obj
@sms_errors
def sync(state, fix: bool, account_id: int | None) -> None:
    """Compare the SMS with the billing and report (or fix) the drift; exits 1 when drift
    is left unfixed or the SMS could not be read."""
    report = reconcile(state.ready().context(PLUGIN), account_id, fix)
    if report is None:
        raise click.ClickException(f"account_id: account {account_id} is not on a JAMBOX agent")
    for item in report.drift:
        who = f"account {item['account_id']}" if item["account_id"] is not None else "SMS"
        mark = "fixed" if item["fixed"] else "found"
        click.echo(f"{mark:<5}  {who:<14} {item['kind']:<18} {item['detail']}")
    for error in report.errors:
        click.echo(f"error  {error}", err=True)
    click.echo(counts(report))
    if unfixed(report) or report.errors:
        raise SystemExit(1)


# --- customers -----------------------------------------------------------------------------

@jambox.group("customers")
def customers() -> None:
    """SMS customers (our contracts)."""


@customers.command("export")
@click.argument("contract_id", type=ID)
@agent_option
@click.pass_obj
@sms_errors
def export(state, contract_id: int, agent_id: int | None) -> None:
    """Export a contract to the SMS (linked by external id, or added), personal data sent."""
    number, done = _desk(state, agent_id).export_customer(contract_id)
    click.echo(f"contract {contract_id}: SMS customer {number} ({done})")


@customers.command("custidupdate")
@agent_option
@click.pass_obj
@sms_errors
def custidupdate(state, agent_id: int | None) -> None:
    """Link every SMS customer whose external id is one of our contracts."""
    result = _desk(state, agent_id).custidupdate()
    for number, contract_id in result["linked"]:
        click.echo(f"linked   SMS customer {number} -> contract {contract_id}")
    for number, external in result["unknown"]:
        click.echo(f"unknown  SMS customer {number}: external id {external or '(none)'} is no "
                   f"contract of ours")
    click.echo(f"{len(result['linked'])} linked, {result['already']} linked before, "
               f"{len(result['unknown'])} without a contract")


@customers.command("list")
@click.option("--page", type=click.IntRange(1, 1_000_000), default=1, show_default=True)
@click.option("--per-page", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--sort", type=click.Choice(SORTS), default="cust_number", show_default=True)
@click.option("--desc", is_flag=True, help="Sort descending.")
@agent_option
@click.pass_obj
@sms_errors
def customer_list(state, page: int, per_page: int, sort: str, desc: bool,
                  agent_id: int | None) -> None:
    """The SMS's customers with the contract and its balance beside each."""
    rows, total = _desk(state, agent_id).customers(page, per_page, sort, desc)
    for row in rows:
        contract = (f"contract {row.contract_id} {row.contract_number} balance {row.balance}"
                    if row.contract_id else f"no contract (external id {row.external_id or '-'})")
        click.echo(f"{row.cust_number:<11} {row.name[:30]:<30} {row.address[:40]:<40} {contract}")
    click.echo(f"page {page}, {len(rows)} of {total} customer(s)")


@customers.command("pins")
@click.argument("contract_id", type=ID)
@click.option("--vod", "vod_pin", help="New VOD PIN (4 digits).")
@click.option("--master", "master_pin", help="New master PIN (4 digits).")
@agent_option
@click.pass_obj
@sms_errors
def pins(state, contract_id: int, vod_pin: str | None, master_pin: str | None,
         agent_id: int | None) -> None:
    """Show the customer's two PINs, or change both."""
    desk = _desk(state, agent_id)
    if vod_pin is not None or master_pin is not None:
        desk.set_pins(contract_id, vod_pin or "", master_pin or "")
    vod, master = desk.pins(contract_id)
    click.echo(f"VOD PIN {vod}, master PIN {master}")


@customers.command("suspend-invoicing")
@click.argument("contract_id", type=ID)
@click.option("--on/--off", "suspended", required=True,
              help="Suspend TV invoicing (from the next run) or resume it.")
@click.pass_obj
@sms_errors
def suspend_invoicing(state, contract_id: int, suspended: bool) -> None:
    """The contract's "suspend TV invoicing" switch."""
    set_invoicing_suspended(state.ready().context(PLUGIN), contract_id, suspended)
    click.echo(f"contract {contract_id}: TV invoicing {'suspended' if suspended else 'on'}")


# --- packages and services -----------------------------------------------------------------

@jambox.command("packages")
@agent_option
@click.pass_obj
@sms_errors
def packages(state, agent_id: int | None) -> None:
    """The packages the operator sells (services map to them by external code)."""
    for package in _desk(state, agent_id).packages():
        click.echo(f"{package['package_id']:<6} {package['pkgt_name'][:20]:<20} "
                   f"{package['pkg_name']}")


@jambox.group("services")
def services() -> None:
    """An account's SMS services: terminate, activate, upgrade, gifts."""


@services.command("list")
@click.argument("account_id", type=ID)
@click.pass_obj
@sms_errors
def service_list(state, account_id: int) -> None:
    """The account's services (inactive ones marked)."""
    for s in _desk(state, account_id=account_id).services(account_id):
        state_text = "active" if int(s.get("sub_active", 1)) else "inactive"
        until = s.get("sub_valid_to") or "-"
        click.echo(f"{s['subscription_id']:<8} {s['pkg_name'][:30]:<30} {state_text:<8} "
                   f"from {s['sub_valid_from']} until {until} order {s['cust_order_id']} "
                   f"billing {s['billing_subscription'] or '-'}")


service_args = [click.argument("account_id", type=ID), click.argument("service", type=ID)]


def _service_command(name: str, help_text: str):
    def wrap(function):
        for decorate in reversed([services.command(name, help=help_text), *service_args]):
            function = decorate(function)
        return function
    return wrap


@_service_command("terminate", "End a service at a billing period's end, with or without "
                               "a penalty.")
@click.option("--date", "on", help="YYYY-MM-DD (default: the end of this period).")
@click.option("--fee", default="", help="Penalty (e.g. 150.00); none by default.")
@click.option("--reason", default="", help="Why.")
@click.pass_obj
@sms_errors
def terminate(state, account_id: int, service: int, on: str | None, fee: str,
              reason: str) -> None:
    end = _desk(state, account_id=account_id).terminate(account_id, service, on, fee, reason)
    click.echo(f"service {service} ends on {end}")


@_service_command("activate", "Activate a service added as inactive.")
@click.pass_obj
@sms_errors
def activate(state, account_id: int, service: int) -> None:
    _desk(state, account_id=account_id).activate(account_id, service)
    click.echo(f"service {service} activated")


@_service_command("upgrades", "The packages a service may be upgraded to, with dates and "
                              "penalties.")
@click.pass_obj
@sms_errors
def upgrades(state, account_id: int, service: int) -> None:
    for offer in _desk(state, account_id=account_id).upgrades(account_id, service):
        click.echo(f"{offer['package_id']:<6} {offer['pkg_name']}")
        for when in offer.get("upgrade_dates") or []:
            fee = when.get("termination_fee") or {}
            click.echo(f"       {when['upgrade_date']}  penalty gross {fee.get('fee_cust_gross')}"
                       f", B2B net {fee.get('fee_b2b_netto')}")


@_service_command("upgrade", "Replace a service by another package on an offered date.")
@click.option("--package", type=ID, required=True)
@click.option("--date", "on", required=True, help="YYYY-MM-DD, one of the offered dates.")
@click.pass_obj
@sms_errors
def upgrade(state, account_id: int, service: int, package: int, on: str) -> None:
    _desk(state, account_id=account_id).upgrade(account_id, service, package, on)
    click.echo(f"service {service} upgraded to package {package} on {on}")


@_service_command("gifts", "The gift packages a renewed service may get.")
@click.pass_obj
@sms_errors
def gifts(state, account_id: int, service: int) -> None:
    for gift_package in _desk(state, account_id=account_id).gifts(account_id, service):
        click.echo(f"{gift_package['package_id']:<6} {gift_package['pkg_name']}")


@_service_command("gift", "Give a gift package to a renewed service.")
@click.option("--package", type=ID, required=True)
@click.pass_obj
@sms_errors
def gift(state, account_id: int, service: int, package: int) -> None:
    _desk(state, account_id=account_id).give_gift(account_id, service, package)
    click.echo(f"gift {package} given to service {service}")


# --- set-top boxes -------------------------------------------------------------------------

@jambox.group("stb")
def stb() -> None:
    """Set-top boxes: stock, issue, return."""


@stb.command("register")
@click.argument("mac")
@click.option("--serial", required=True)
@click.option("--model", required=True)
@agent_option
@click.pass_obj
@sms_errors
def stb_register(state, mac: str, serial: str, model: str, agent_id: int | None) -> None:
    """Put a box in stock (MAC as XX:XX:XX:XX:XX:XX; lowercase or without colons too)."""
    click.echo(f"registered {_desk(state, agent_id).register_stb(mac, serial, model)}")


@stb.command("remove")
@click.argument("mac")
@agent_option
@click.pass_obj
@sms_errors
def stb_remove(state, mac: str, agent_id: int | None) -> None:
    """Remove a box from stock (not one issued, nor one SGT bought)."""
    click.echo(f"removed {_desk(state, agent_id).remove_stb(mac)}")


@stb.command("list")
@click.option("--stock", "where", flag_value="stock", help="Only boxes in stock.")
@click.option("--customer", "where", flag_value="customer", help="Only issued boxes.")
@agent_option
@click.pass_obj
@sms_errors
def stb_list(state, where: str | None, agent_id: int | None) -> None:
    """Every box and where it is."""
    for box in _desk(state, agent_id).stbs(where or ""):
        place = (f"customer {box['cust_number']}" if box["stb_usage"] == "customer"
                 else "stock")
        click.echo(f"{box['stb_mac']}  {box['stb_serial']:<12} {box['stb_model'][:20]:<20} "
                   f"{place:<20} {box.get('stb_ip') or ''}")


@stb.command("issue")
@click.argument("account_id", type=ID)
@click.argument("mac")
@click.option("--subnet", "subnet_id", type=ID, required=True)
@click.option("--service", "service", type=ID, help="The SMS service (default: the first).")
@click.pass_obj
@sms_errors
def stb_issue(state, account_id: int, mac: str, subnet_id: int, service: int | None) -> None:
    """Issue a box from stock to an account's service."""
    address = _desk(state, account_id=account_id).issue_stb(account_id, mac, subnet_id, service)
    click.echo(f"{address} issued to account {account_id}")


@stb.command("return")
@click.argument("account_id", type=ID)
@click.argument("mac")
@click.pass_obj
@sms_errors
def stb_return(state, account_id: int, mac: str) -> None:
    """Take a box back to stock."""
    address = _desk(state, account_id=account_id).return_stb(account_id, mac)
    click.echo(f"{address} back in stock")


# --- subnets -------------------------------------------------------------------------------

@jambox.group("subnets")
def subnets() -> None:
    """The subnets boxes get their addresses in."""


@subnets.command("list")
@agent_option
@click.pass_obj
@sms_errors
def subnet_list(state, agent_id: int | None) -> None:
    for net in _desk(state, agent_id).subnets():
        click.echo(f"{net['subnet_id']:<6} {net['subnet_name'][:30]:<30} {net['subnet_net']}/"
                   f"{net['subnet_mask']}")


@subnets.command("split")
@click.argument("subnet_id", type=ID)
@click.option("--name1", help="Name of the first half (default: <name>.1).")
@click.option("--name2", help="Name of the second half (default: <name>.2).")
@agent_option
@click.pass_obj
@sms_errors
def subnet_split(state, subnet_id: int, name1: str | None, name2: str | None,
                 agent_id: int | None) -> None:
    first, second = _desk(state, agent_id).split_subnet(subnet_id, name1, name2)
    click.echo(f"subnet {subnet_id} split into {first} and {second}")


# --- messages to TV screens ----------------------------------------------------------------

@jambox.group("messages")
def messages() -> None:
    """Messages to subscribers' TV screens."""


@messages.command("send")
@click.option("--contract", "contract_id", type=ID, help="The contract's customer.")
@click.option("--all", "everyone", is_flag=True, help="Every customer.")
@click.option("--body", required=True, help="The teaser: the short text in the TV portal.")
@click.option("--teaser-from", required=True, help="YYYY-MM-DD [HH:MM]")
@click.option("--teaser-to", required=True)
@click.option("--text", "extended", default="", help="The full message in the TV panel.")
@click.option("--from", "valid_from", required=True, help="YYYY-MM-DD [HH:MM]")
@click.option("--to", "valid_to", required=True)
@click.option("--confirm", type=click.Choice(["0", "1", "2"]), default="1", show_default=True,
              help="; ".join(f"{k}: {v}" for k, v in READ_CONFIRMATION.items()))
@click.option("--priority", type=click.IntRange(0, 10), default=1, show_default=True)
@agent_option
@click.pass_obj
@sms_errors
def send(state, contract_id, everyone, body, teaser_from, teaser_to, extended, valid_from,
         valid_to, confirm, priority, agent_id) -> None:
    """Send a message to one customer (--contract) or to all (--all)."""
    if everyone == (contract_id is not None):
        raise click.UsageError("give either --contract or --all")
    sent = _desk(state, agent_id).send_message(
        contract_id, body, (teaser_from, teaser_to), (valid_from, valid_to), extended,
        int(confirm), priority)
    click.echo(f"sent to {sent} customer(s)")


@messages.command("list")
@click.option("--contract", "contract_id", type=ID, help="Only this contract's customer.")
@agent_option
@click.pass_obj
@sms_errors
def message_list(state, contract_id: int | None, agent_id: int | None) -> None:
    for m in _desk(state, agent_id).messages(contract_id):
        click.echo(f"{m['msg_id']:<8} customer {m['cust_number']:<11} {m['msg_valid_from']} - "
                   f"{m['msg_valid_to']}  {m['msg_body'][:60]}")


@messages.command("delete")
@click.option("--id", "ids", type=ID, multiple=True, help="A message (repeat for more).")
@click.option("--contract", "contract_id", type=ID, help="Every message of this customer.")
@agent_option
@click.pass_obj
@sms_errors
def message_delete(state, ids: tuple[int, ...], contract_id: int | None,
                   agent_id: int | None) -> None:
    if bool(ids) == (contract_id is not None):
        raise click.UsageError("give either --id or --contract")
    gone = _desk(state, agent_id).delete_messages(list(ids) or None, contract_id)
    click.echo(f"{gone} message(s) deleted")
