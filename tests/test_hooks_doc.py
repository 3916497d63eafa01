"""docs/hooks.md documents every hook with the exact signature of core/hookspecs.py, and
its event reference is what the core emits: every event is emitted here through the
services and each payload is checked against the documented tables, keys and types."""
from __future__ import annotations

import inspect
import re
import socket
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from core import (AccountState, Contract, Tariff, change_account, change_tariff, hookspecs,
                  lift_block, queue_mail, record_payment, restore_account, set_block,
                  trash_account)
from core.invoicing import invoice_period
from core.ledger import add_charge
from core.services.corrections import reverse_payment
from core.services.subscriptions import assign_service, expire_due
from core.services.tariffs import announce_edit
from support import ROOT

DOC = (ROOT / "docs" / "hooks.md").read_text()
HEADING = re.compile(r"^### `(abonent_\w+)\((.*)\)`$", re.MULTILINE)
ROW = re.compile(r"^\| `(\w+)` \| ([^|]+?) \|(.*)\|$", re.MULTILINE)


def test_every_hook_is_documented_with_its_signature():
    documented = {name: args for name, args in HEADING.findall(DOC)}
    specs = {name: ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
             for name in dir(hookspecs) if name.startswith("abonent_")}
    assert set(documented) == set(specs), "documented hooks differ from hookspecs.py"
    for name, args in specs.items():
        assert documented[name] == args, f"{name}: docs say ({documented[name]}), spec ({args})"


def test_every_spec_says_when_what_and_errors():
    for name in dir(hookspecs):
        if name.startswith("abonent_"):
            doc = inspect.getdoc(getattr(hookspecs, name))
            assert doc and len(doc) > 60, f"{name} needs a docstring saying when, what, errors"


# --- the event reference -----------------------------------------------------------------

def _section(title: str) -> str:
    start = DOC.index(title)
    end = DOC.find("\n#", start + len(title))
    return DOC[start:end if end != -1 else None]


def _table(title: str) -> dict[str, str]:
    """key -> type of the table under a heading."""
    return {key: kind.strip() for key, kind, _ in ROW.findall(_section(title))}


def documented_events() -> dict[str, tuple[str, list[str]]]:
    """event -> (kind, payload keys) from the reference's table."""
    rows = re.findall(r"^\| `(\w+)` \| (account|contract) \| (.+) \|$",
                      _section("### Event reference"), re.MULTILINE)
    return {name: (kind, re.findall(r"`(\w+)`", keys)) for name, kind, keys in rows}


OBJECTS = ("account", "subscription", "tariff", "service", "tariff_ref", "block", "payment",
           "invoice", "mail")


def _is_decimal(value) -> bool:
    try:
        return isinstance(value, str) and Decimal(value).is_finite()
    except ArithmeticError:
        return False


def _is_date(value) -> bool:
    try:
        return isinstance(value, str) and date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def _is_moment(value) -> bool:
    try:
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


SCALARS = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "decimal": _is_decimal,
    "date": _is_date,
    "datetime": _is_moment,
    "object": lambda v: isinstance(v, dict),
    "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "state": lambda v: v in AccountState.ALL,
    "source": lambda v: v in AccountState.BLOCK_SOURCES,
}


def problems(value, kind: str, where: str) -> list[str]:
    """What is wrong with `value` as the documented type `kind` (empty: nothing)."""
    if kind.endswith("?"):
        return [] if value is None else problems(value, kind[:-1], where)
    if kind.startswith("list[") and kind[5:-1] in OBJECTS:
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        return [p for i, item in enumerate(value)
                for p in problems(item, kind[5:-1], f"{where}[{i}]")]
    if kind in OBJECTS:
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        return keys_and_types(value, _table(f"#### The `{kind}` object"), where)
    assert kind in SCALARS, f"the doc uses a type the test does not know: {kind}"
    return [] if SCALARS[kind](value) else [f"{where}: {value!r} is not {kind}"]


def keys_and_types(value: dict, table: dict[str, str], where: str) -> list[str]:
    found = [f"{where}: keys {sorted(value)} are not the documented {sorted(table)}"] \
        if set(value) != set(table) else []
    return found + [p for key in set(value) & set(table)
                    for p in problems(value[key], table[key], f"{where}.{key}")]


@pytest.fixture
def abonent_plugins(listener):
    return [("listener", listener)]


@pytest.fixture
def abonent_config():
    """Mail to a port nothing listens on: the mailer's delivery waits (an hour) while the
    listener hears `mail_queued`."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    return {"mail": {"host": "127.0.0.1", "port": port, "from_address": "b@isp.example"},
            "outbox": {"backoff_base": "3600", "backoff_max": "3600"}}


def emit_every_event(runtime, factory) -> None:
    """Every notification, through the services, as a month of an account would."""
    extra = factory.service(name="Films", method="daily", price="5.00", external_code="F1")
    tariff = factory.tariff(extra=[extra], device_limit=2)
    account = factory.account(tariff=tariff)
    today = date.today()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    with runtime.session(actor="test") as s:
        change_account(s, account.id, login=f"{account.login}-renamed")
        set_block(s, account.id, AccountState.ADMIN, reason="unpaid equipment")
        set_block(s, account.id, AccountState.VOLUNTARY)  # old state = new state: admin
        lift_block(s, account.id, AccountState.ADMIN)  # admin -> voluntary
        lift_block(s, account.id, AccountState.VOLUNTARY)  # -> active
        films = assign_service(s, account.id, extra.id, start_on=today, end_on=today)
        expire_due(s, today + timedelta(days=1))
        assert films.end_reason == "expired"
        s.get(Tariff, tariff.id).device_limit = 3
        announce_edit(s, s.get(Tariff, tariff.id))
        trash_account(s, account.id)
        restore_account(s, account.id)
        paid = record_payment(s, account.contract_id, "150.00", source="bank",
                              external_id="p-1").payment
        record_payment(s, account.contract_id, "150.00", source="bank", external_id="p-2")
        reverse_payment(s, paid.id, "entered twice")
        add_charge(s, key=f"doc:{account.id}", contract_id=account.contract_id,
                   amount=Decimal("30.00"), kind="manual", period_start=last_month,
                   period_end=last_month)
    other = factory.tariff(name="Bigger")
    with runtime.session(actor="test") as s:
        change_tariff(s, account.id, other.id)
    invoice_period(runtime, last_month, contract_id=account.contract_id)
    with runtime.session(actor="test") as s:
        s.get(Contract, account.contract_id).subscriber.email = "anna@example.org"
        queue_mail(s, account.contract_id, "Your invoice", "is attached")


def test_every_event_payload_is_as_documented(runtime, factory, listener, drain):
    emit_every_event(runtime, factory)
    drain()
    events = documented_events()
    assert set(events) == set(hookspecs.NOTIFICATIONS), "the reference lists other events"
    payload_keys = _table("#### Payload keys")
    seen = {event.name for event in listener.events}
    assert seen == set(events), f"not emitted here: {set(events) - seen}"
    wrong = []
    for event in listener.events:
        kind, keys = events[event.name]
        assert (event.account_id is not None) == (kind == "account"), event.name
        assert event.contract_id is not None, event.name
        wrong += keys_and_types(event.payload, {key: payload_keys[key] for key in keys},
                                event.name)
    assert wrong == []


def test_the_cases_a_plugin_must_expect(runtime, factory, listener, drain):
    """The doc's "cases a plugin must expect", as emitted."""
    emit_every_event(runtime, factory)
    drain()
    blocks = [(e.name, e.payload["block"]["source"], e.payload["old_state"],
               e.payload["new_state"]) for e in listener.events if e.name.startswith("block_")]
    assert blocks == [("block_set", "admin", "active", "admin"),
                      ("block_set", "voluntary", "admin", "admin"),
                      ("block_lifted", "admin", "admin", "voluntary"),
                      ("block_lifted", "voluntary", "voluntary", "active")]
    reasons = [(e.name, e.payload["reason"]) for e in listener.events
               if e.name in ("subscription_activated", "subscription_deactivated")]
    assert reasons == [("subscription_deactivated", "block"),
                       ("subscription_activated", "block_lifted")]
    documented = _section("### States, and the cases a plugin must expect")
    for case in ("`old_state` = `new_state`", "admin → voluntary"):
        assert case in documented


def test_one_rule_for_a_platform_that_is_down():
    """Stated once, in "Outcomes of a delivery"; the docstrings say the same."""
    rule = _section("### Outcomes of a delivery")
    assert "**The platform is down**" in rule and "raise `RetryLater`" in rule
    from core import Rejected, RetryLater
    for doc in (hookspecs.__doc__, RetryLater.__doc__, Rejected.__doc__):
        assert "Outcomes of a delivery" in doc
    assert "propagate" not in RetryLater.__doc__
