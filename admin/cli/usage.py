"""`abonent usage`: take in the CDR spools, record a measured quantity by hand."""
from __future__ import annotations

import click
from sqlalchemy import select

from admin.cli import State, cli, pass_state
from core.cdr import intake
from core.contributions import UsageDraft
from core.models import Charge, Contract, UsageRecord
from core.money import RATE_PLACES, to_decimal
from core.services import inputs
from core.services.dates import operator_today, usage_window
from core.usage import KEY_MAX, find_sensor_type, record_usage


@cli.group()
def usage() -> None:
    """Usage records (CDR): spool intake and manual records."""


@usage.command("intake")
@click.option("--source", help="Only this spool (a folder under <var_dir>/cdr).")
@pass_state
def usage_intake(state: State, source: str | None) -> None:
    """Take and rate every settled file in the CDR spools."""
    reports = intake(state.ready(), source)
    for r in reports:
        if r.error:
            click.echo(f"{r.source}/{r.name}: not taken ({r.error}); it stays in work/ "
                       f"for the next intake", err=True)
            continue
        rejects = f"; rejects in {r.rejects}" if r.rejects else ""
        click.echo(f"{r.source}/{r.name} ({r.day}): lines {r.lines}, taken {r.taken}, "
                   f"duplicates {r.duplicates}, rejected {r.rejected}, "
                   f"charged {r.amount}{rejects}")
    if not reports:
        click.echo("no files to take")
    failed = sum(1 for r in reports if r.error)
    if failed:
        raise click.ClickException(f"{failed} file(s) not taken")


@usage.command("add")
@click.option("--ext-id", required=True, help="The account's external id.")
@click.option("--sensor-type", required=True, help="Sensor type id or name (sensor_1).")
@click.option("--value", required=True, help="Measured quantity, e.g. 6 or 2.5.")
@click.option("--unit", "unit_id", type=click.IntRange(0, inputs.MAX_INTEGER),
              help="Unit id (5 = pcs); any unit if omitted.")
@click.option("--day", help="Day of the usage, YYYY-MM-DD (default: the operator's today).")
@click.option("--source", default="manual", show_default=True)
@click.option("--key", help="Idempotency key (default <source>:<ext id>:<sensor type>:<day>: "
                            "one record a day; give keys to record more).")
@pass_state
def usage_add(state: State, ext_id, sensor_type, value, unit_id, day, source, key) -> None:
    """Record one measured quantity and rate it at once (safe to repeat)."""
    with state.ready().session(actor="cli") as session:
        ext_id = inputs.text(ext_id, "ext_id", max_len=100)
        source = inputs.text(source, "source", max_len=50)
        sensor = find_sensor_type(session, sensor_type)
        on = usage_window(session).check(
            inputs.day(day, "day", required=False) or operator_today(session), "day")
        key = inputs.text(key or f"{source}:{ext_id}:{sensor}:{on.isoformat()}", "key",
                          max_len=KEY_MAX)
        summary = record_usage(session, [UsageDraft(
            key=key, source=source, ext_id=ext_id, sensor_type_id=sensor, unit_id=unit_id,
            value=to_decimal(value, "value", places=RATE_PLACES, allow_negative=True), day=on)])
        record = session.scalars(select(UsageRecord).where(UsageRecord.key == key)).one()
        if summary.duplicates:
            click.echo(f"already recorded: usage record {record.id} ({record.state})")
        elif record.state == "rejected":
            click.echo(f"usage record {record.id} rejected: {record.reason}")
        else:
            charge = session.get(Charge, record.charge_id)
            contract = session.get(Contract, charge.contract_id)
            click.echo(f"usage record {record.id} rated: charge {charge.id} of {charge.amount} "
                       f"for {on} on contract {contract.number}; balance {contract.balance}")
