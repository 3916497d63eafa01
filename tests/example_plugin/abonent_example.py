"""A small plugin the core's own tests load (docs/writing-plugins.md builds a complete one,
examples/abonent-sms).

It shows each kind of hook once:
- an agent type ("example-tv") whose accounts need a phone login (digits, starting with
  7) unless the `username` field carries it: a platform's rule, kept in its plugin;
- a configuration section (`[plugins.example] export_path = …`);
- notifications: every payment and every block set or lifted is appended to a JSON-lines
  file, once per event even when delivered twice (the idempotency key is remembered);
- a CLI command: `abonent example-export` prints the file.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import click

from core import AgentType, Field, ValidationError, hookimpl

PHONE = r"7\d{10}"


def _check_tv_account(draft):
    if re.fullmatch(PHONE, draft.login) or draft.fields.get("username"):
        return
    raise ValidationError("login", "must be a mobile phone of 11 digits starting with 7, "
                                   "or fill in the username field")


@hookimpl
def abonent_agent_types():
    return [AgentType(
        code="example-tv", title="Example TV platform",
        settings=(Field("api_url", "url", required=True), Field("token", secret=True)),
        account_fields=(Field("username", pattern=PHONE, help="the phone, if the login is not"),
                        Field("device_limit", "int", min=0, max=100)),
        check_account=_check_tv_account)]


@hookimpl
def abonent_config_schema():
    return [Field("export_path", default="var/example-export.jsonl")]


def _export(event, ctx):
    path = Path(ctx.config["export_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    seen = set()
    if path.exists():
        seen = {json.loads(line)["key"] for line in path.read_text().splitlines() if line}
    if event.idempotency_key in seen:  # a repeated delivery: the effect happened already
        return
    with path.open("a") as out:
        out.write(json.dumps({"key": event.idempotency_key, "event": event.name,
                              "contract_id": event.contract_id, "payload": event.payload}) + "\n")


@hookimpl
def abonent_payment_received(event, ctx):
    _export(event, ctx)


@hookimpl
def abonent_block_set(event, ctx):
    _export(event, ctx)


@hookimpl
def abonent_block_lifted(event, ctx):
    _export(event, ctx)


@click.command("example-export")
@click.pass_obj
def show_export(state):
    """Print what the example plugin exported."""
    path = Path(state.runtime.plugin_configs["example"]["export_path"])
    click.echo(path.read_text() if path.exists() else "nothing exported yet")


@hookimpl
def abonent_cli_commands():
    return [show_export]
