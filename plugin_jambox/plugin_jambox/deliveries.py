"""Billing → SMS: each notification the outbox delivers, turned into SMS calls.

| billing | SMS |
|---|---|
| account created | the contract exported as a customer (linked by external id, else custAdd), accountAdd (the installation address), the lock if a block wants it |
| installation address changed | accountEdit |
| moved to another agent | the old agent's services terminated and its account deleted (or left locked until they end); the new agent's reconciled |
| block set / lifted | accountLock / accountUnlock when the agent's lock sources say so |
| package service assigned (active / inactive) | packagesEntitle / packagesAdd |
| activated by a manager | subscriptionActivate (or the package given if missing) |
| deactivated by a manager, expired, removed | subscriptionTerminate at the end of the billing period |
| trashed | every service terminated, the account locked, deleted once its services end |
| restored | reconciled (services given again, the lock as the blocks want) |

Outcomes, as the outbox understands them (docs/hooks.md, "Outcomes of a delivery"): an
SMS that does not answer (timeout, HTTP error, a malformed reply) is `RetryLater`, an
outage costing no attempts (each operation re-reads the SMS first, so a retry after a lost
answer ends done); an SMS fault is `Rejected` with SGT's text, a dead letter the operator
reads (and the reconciliation repairs). The subscription events a block emits (reason "block",
"block_lifted") are ignored: the lock covers them.
"""
from __future__ import annotations

import functools
from typing import Callable

from core import Rejected, RetryLater, ValidationError
from plugin_jambox import store
from plugin_jambox.agent import CODE, package_id
from plugin_jambox.client import JamboxFault, JamboxUnavailable
from plugin_jambox.operations import TvAccount
from plugin_jambox.reconcile import reconcile

ADDRESS_FIELDS = ("jambox_city", "jambox_street", "jambox_home_nr", "jambox_flat",
                  "jambox_postal_code")


def delivery(handler: Callable) -> Callable:
    """Translate the SMS's refusals into dead letters and its silence into "later"."""

    @functools.wraps(handler)
    def deliver(event, ctx):
        try:
            return handler(event, ctx)
        except JamboxFault as exc:
            raise Rejected(f"JAMBOX SMS refused {exc.method}: {exc.message}") from None
        except JamboxUnavailable as exc:
            raise RetryLater(f"JAMBOX SMS unavailable: {exc}") from None
        except ValidationError as exc:  # the agent's settings or the account's address
            raise Rejected(f"JAMBOX: {exc}") from None
    return deliver


def _reconciled(ctx, account_id: int) -> None:
    report = reconcile(ctx, account_id, fix=True)
    if report is not None and report.errors:
        raise RuntimeError("; ".join(report.errors))


# --- accounts -----------------------------------------------------------------------------

@delivery
def account_created(event, ctx) -> None:
    account = TvAccount.load(ctx, event.account_id)
    account.ensure_account()
    account.set_lock()


@delivery
def account_changed(event, ctx) -> None:
    old, snapshot = event.payload["old"], event.payload["account"]
    if "agent_id" in old:
        if old.get("agent_type", snapshot["agent_type"]) == CODE:
            leaving = TvAccount.load(ctx, event.account_id, agent_id=old["agent_id"])
            leaving.terminate_all()
            leaving.set_lock(True)
            leaving.delete_account()
        if snapshot["agent_type"] == CODE:
            _reconciled(ctx, event.account_id)
        return
    before = old.get("fields")
    if before is not None and any(before.get(k) != snapshot["fields"].get(k)
                                  for k in ADDRESS_FIELDS):
        TvAccount.load(ctx, event.account_id).edit_account()


@delivery
def account_trashed(event, ctx) -> None:
    account = TvAccount.load(ctx, event.account_id)
    account.terminate_all()
    account.set_lock(True)
    account.delete_account()


@delivery
def account_restored(event, ctx) -> None:
    _reconciled(ctx, event.account_id)


# --- blocks -------------------------------------------------------------------------------

@delivery
def block_set(event, ctx) -> None:
    TvAccount.load(ctx, event.account_id).set_lock()


@delivery
def block_lifted(event, ctx) -> None:
    account = TvAccount.load(ctx, event.account_id)
    if not account.facts.trashed:
        account.set_lock()


# --- subscriptions ------------------------------------------------------------------------

def _is_package(event) -> bool:
    return package_id(event.payload["subscription"].get("external_code")) is not None


@delivery
def subscription_assigned(event, ctx) -> None:
    if _is_package(event):
        account = TvAccount.load(ctx, event.account_id)
        if not account.facts.trashed:
            account.subscribe(event.payload["subscription"])


@delivery
def subscription_activated(event, ctx) -> None:
    if _is_package(event) and event.payload.get("reason") != "block_lifted":
        TvAccount.load(ctx, event.account_id).activate(event.payload["subscription"])


def _end(event, ctx) -> None:
    if not _is_package(event):
        return
    account = TvAccount.load(ctx, event.account_id)
    subscription = event.payload["subscription"]
    with ctx.session() as session:
        link = store.subscription_link(session, subscription["id"])
    if link is not None:
        account.terminate(subscription["id"], int(link.external_id))


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
