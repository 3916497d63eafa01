"""Billing → platform: each notification the outbox delivers, turned into platform calls.

Outcomes, as the outbox understands them (docs/hooks.md, "Outcomes of a delivery"): a
platform that cannot answer now (5xx, timeout, connection refused, a cut-off answer) or
asks to slow down (429, after its Retry-After) is `RetryLater`, an outage costing no
attempts; a refusal (4xx) is `Rejected` with the platform's reason, a dead letter at once
that a person can read (and the reconciliation repairs).

Blocks are driven by `block_set` / `block_lifted` alone (all subscriptions paused when
the account leaves the "active" state, unpaused when it comes back); the
`subscription_deactivated` / `_activated` events a block also emits (reason "block",
"block_lifted") are ignored, so nothing is paused twice.
"""
from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any, Callable

from core import Rejected, RetryLater, ValidationError
from plugin_tv24 import store
from plugin_tv24.agent import CODE, device_limit, identity, packet_id
from plugin_tv24.client import Tv24Rejected, Tv24Unavailable
from plugin_tv24.operations import AccountFacts, AccountOnPlatform
from plugin_tv24.reconcile import reconcile

ACTIVE = "active"


def delivery(handler: Callable) -> Callable:
    """Translate the client's errors into the outbox's outcomes."""

    @functools.wraps(handler)
    def deliver(event, ctx):
        try:
            return handler(event, ctx)
        except Tv24Unavailable as exc:
            if exc.status == 429:
                raise RetryLater(f"24h TV rate limit: {exc}", after=exc.retry_after) from None
            raise RetryLater(f"24h TV unavailable: {exc}") from None
        except Tv24Rejected as exc:
            raise Rejected(f"24h TV refused {exc}") from None
        except ValidationError as exc:  # the agent's settings are no longer valid
            raise Rejected(f"24h TV agent settings: {exc}") from None
    return deliver


def _account(event, ctx, agent_id: int | None = None,
             subscription_id: int | None = None) -> AccountOnPlatform:
    return AccountOnPlatform.load(ctx, AccountFacts.of(event.payload["account"]), agent_id,
                                  subscription_id, event.facts)


# --- accounts -----------------------------------------------------------------------------

@delivery
def account_created(event, ctx) -> None:
    _account(event, ctx).ensure_user()


@delivery
def account_changed(event, ctx) -> None:
    """A move between agents leaves the old platform and joins the new one; a change of
    login, tv24_username or tv24_devicelimit is carried to the user."""
    old, snapshot = event.payload["old"], event.payload["account"]
    if "agent_id" in old:
        if old.get("agent_type", snapshot["agent_type"]) == CODE:
            _account(event, ctx, agent_id=old["agent_id"]).leave()
        if snapshot["agent_type"] == CODE:
            report = reconcile(ctx, snapshot["id"], fix=True)
            if report.errors:
                raise RuntimeError("; ".join(report.errors))
        return
    before_login = old.get("login", snapshot["login"])
    before_fields = old.get("fields", snapshot["fields"])
    after, before = identity(snapshot["login"], snapshot["fields"]), identity(before_login,
                                                                              before_fields)
    limit = device_limit(snapshot["fields"], snapshot["device_limit"])
    changes = {
        "username": after.username if after.username != before.username else None,
        "phone": after.phone if after.phone != before.phone else None,
        "device_limit": limit if limit != device_limit(before_fields,
                                                       snapshot["device_limit"]) else None,
    }
    if any(v is not None for v in changes.values()):
        _account(event, ctx).update_user(**changes)


@delivery
def account_trashed(event, ctx) -> None:
    account = _account(event, ctx)
    account.pause_all()
    account.update_user(is_active=False)


@delivery
def account_restored(event, ctx) -> None:
    account = _account(event, ctx)
    account.update_user(is_active=True)
    if not account.facts.paused:
        account.unpause_all()


# --- blocks -------------------------------------------------------------------------------

@delivery
def block_set(event, ctx) -> None:
    payload = event.payload
    if payload["old_state"] == ACTIVE and payload["new_state"] != ACTIVE:
        _account(event, ctx).pause_all()


@delivery
def block_lifted(event, ctx) -> None:
    payload = event.payload
    if (payload["old_state"] != ACTIVE and payload["new_state"] == ACTIVE
            and not payload["account"]["trashed"]):
        _account(event, ctx).unpause_all()


# --- subscriptions ------------------------------------------------------------------------

def _start(event, ctx) -> None:
    subscription = event.payload["subscription"]
    if packet_id(subscription["external_code"]) is None or subscription["state"] != ACTIVE:
        return
    account = _account(event, ctx, subscription_id=subscription["id"])
    if account.subscription_link is None:
        account.subscribe(subscription)


def _end(event, ctx) -> None:
    subscription = event.payload["subscription"]
    if packet_id(subscription["external_code"]) is None:
        return
    account = _account(event, ctx, subscription_id=subscription["id"])
    link = account.subscription_link
    if link is None:
        return
    if (event.payload.get("reason") == "tariff_change"
            and account.user_data.get("tariff_change") == "downgrade"):
        account.wind_down(subscription["id"], link.external_id, subscription["is_base"])
    else:
        account.end(subscription["id"], link.external_id)


@delivery
def subscription_assigned(event, ctx) -> None:
    _start(event, ctx)


@delivery
def subscription_activated(event, ctx) -> None:
    if event.payload.get("reason") != "block_lifted":
        _start(event, ctx)


@delivery
def subscription_deactivated(event, ctx) -> None:
    if event.payload.get("reason") != "block":
        _end(event, ctx)


@delivery
def subscription_expired(event, ctx) -> None:
    _end(event, ctx)


@delivery
def subscription_removed(event, ctx) -> None:
    _end(event, ctx)


# --- tariff changes -----------------------------------------------------------------------

def monthly_price(tariff: dict[str, Any]) -> Decimal:
    """What the tariff's 24h TV base packets cost a month (a daily price × 30)."""
    return sum((Decimal(str(s["price"])) * (30 if s.get("method") == "daily" else 1)
                for s in tariff["base_services"] if packet_id(s.get("external_code"))),
               Decimal(0))


@delivery
def tariff_changed(event, ctx) -> None:
    """Remember whether this is an upgrade (the old base packet ends at once) or a
    downgrade (it runs out its paid period, the new one is planned after it) for the
    subscription events that follow; carry a new device limit to the user."""
    old, new = event.payload["old_tariff"], event.payload["new_tariff"]
    mode = "downgrade" if monthly_price(new) < monthly_price(old) else "upgrade"
    account = _account(event, ctx)
    with ctx.session() as session:
        store.update_user_data(session, account.facts.id, tariff_change=mode,
                               **({"next_base_at": None} if mode == "upgrade" else {}))
    fields = account.facts.fields
    before, after = device_limit(fields, old["device_limit"]), device_limit(fields, new["device_limit"])
    if after != before:
        account.update_user(device_limit=after)


@delivery
def tariff_updated(event, ctx) -> None:
    """A manager changed the tariff's device limit: the account's platform user gets it,
    unless the account's own tv24_devicelimit overrides the tariff's."""
    if "device_limit" not in event.payload["new"]:
        return
    account = _account(event, ctx)
    fields = account.facts.fields
    before = device_limit(fields, event.payload["old"]["device_limit"])
    after = device_limit(fields, event.payload["new"]["device_limit"])
    if after != before:
        account.update_user(device_limit=after)
