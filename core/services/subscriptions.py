"""Services on an account: assign, activate, deactivate, remove; and the shared helpers
that start and end subscriptions for accounts and tariff changes."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import audit
from core.charging import InsufficientFunds, period_charge, refund_unused
from core.clock import now
from core.errors import Duplicate, ValidationError
from core.events import emit_for_account, subscription_snapshot
from core.ledger import add_charge
from core.models import Account, Contract, Service, Subscription, TariffService
from core.services import inputs
from core.services.dates import local_today, planned_day


def start(session: Session, account: Account, service: Service, *, start_on: date,
          end_on: date | None = None, is_base: bool = False, active: bool = True
          ) -> Subscription:
    """Create a subscription and its `subscription_assigned` event."""
    subscription = Subscription(account=account, service=service, is_base=is_base,
                                state="active" if active else "inactive",
                                start_on=start_on, end_on=end_on)
    session.add(subscription)
    session.flush()
    emit_for_account(session, "subscription_assigned", account,
                     {"subscription": subscription_snapshot(subscription)})
    return subscription


def end(session: Session, subscription: Subscription, *, reason: str, on: date) -> None:
    """End a subscription on day `on` (its last day) and emit removed or expired."""
    subscription.state = "ended"
    subscription.end_reason = reason
    subscription.ended_at = now()
    if subscription.end_on is None or subscription.end_on > on:
        subscription.end_on = max(on, subscription.start_on)
    session.flush()
    refund_unused(session, subscription)
    name = "subscription_expired" if reason == "expired" else "subscription_removed"
    emit_for_account(session, name, subscription.account,
                     {"subscription": subscription_snapshot(subscription), "reason": reason})


def _live(session: Session, subscription_id: Any) -> Subscription:
    subscription = inputs.fetch(session, Subscription, subscription_id, "subscription_id")
    if subscription.state == "ended":
        raise ValidationError("subscription_id",
                              f"subscription {subscription.id} has ended ({subscription.end_reason})")
    if subscription.account.trashed:
        raise ValidationError("subscription_id",
                              f"account {subscription.account_id} is in the trash")
    return subscription


def assign_service(session: Session, account_id: Any, service_id: Any, *,
                   start_on: Any = None, end_on: Any = None, active: bool = True
                   ) -> Subscription:
    """Assign a service the account's tariff offers, from `start_on` (default today)
    until `end_on` (inclusive; None for open-ended), active or not yet active."""
    account = inputs.fetch(session, Account, account_id, "account_id")
    if account.trashed:
        raise ValidationError("account_id", f"account {account.id} is in the trash")
    service = inputs.fetch(session, Service, service_id, "service_id")
    if service.archived:
        raise ValidationError("service_id", f"service {service.name!r} is archived")
    offered = session.get(TariffService, (account.tariff_id, service.id))
    if offered is None:
        raise ValidationError("service_id", f"tariff {account.tariff.name!r} does not offer "
                                            f"service {service.name!r}")
    today = local_today(account)
    first = planned_day(session, inputs.day(start_on, "start_on", required=False) or today,
                        "start_on")
    last = inputs.day(end_on, "end_on", required=False)
    if last is not None and last < first:
        raise ValidationError("end_on", "must not be before start_on")
    existing = session.scalar(select(Subscription.id).where(
        Subscription.account_id == account.id, Subscription.service_id == service.id,
        Subscription.state != "ended"))
    if existing:
        raise Duplicate("service_id", f"service {service.name!r} is already assigned "
                                      f"(subscription {existing})")
    subscription = start(session, account, service, start_on=first, end_on=last,
                         active=inputs.boolean(active, "active"))
    audit(session, "assign", "subscription", subscription.id,
          {"account_id": account.id, "service_id": service.id, "start_on": first,
           "end_on": last, "state": subscription.state})
    return subscription


def activate(session: Session, subscription_id: Any) -> Subscription:
    subscription = _live(session, subscription_id)
    if subscription.state == "active":
        return subscription
    subscription.state = "active"
    session.flush()
    emit_for_account(session, "subscription_activated", subscription.account,
                     {"subscription": subscription_snapshot(subscription), "reason": "manager"})
    audit(session, "activate", "subscription", subscription.id,
          {"state": {"old": "inactive", "new": "active"}})
    return subscription


def deactivate(session: Session, subscription_id: Any) -> Subscription:
    subscription = _live(session, subscription_id)
    if subscription.state == "inactive":
        return subscription
    subscription.state = "inactive"
    session.flush()
    emit_for_account(session, "subscription_deactivated", subscription.account,
                     {"subscription": subscription_snapshot(subscription), "reason": "manager"})
    audit(session, "deactivate", "subscription", subscription.id,
          {"state": {"old": "active", "new": "inactive"}})
    return subscription


def remove(session: Session, subscription_id: Any) -> Subscription:
    """Remove a service from the account: it ends today (its rows stay for the ledger)."""
    subscription = _live(session, subscription_id)
    old_state = subscription.state
    end(session, subscription, reason="removed", on=local_today(subscription.account))
    audit(session, "remove", "subscription", subscription.id,
          {"state": {"old": old_state, "new": "ended"}})
    return subscription


def expire_due(session: Session, day: date) -> int:
    """End the subscriptions whose last day is before `day` (emits subscription_expired)."""
    due = list(session.scalars(select(Subscription).where(
        Subscription.state != "ended", Subscription.end_on.is_not(None),
        Subscription.end_on < day).order_by(Subscription.id)))
    for subscription in due:
        end(session, subscription, reason="expired", on=subscription.end_on)
    return len(due)


def purchase(session: Session, account_id: Any, service_id: Any) -> Subscription:
    """Assign a service and charge its current period at once (a platform's in-app
    purchase), with the key the daily run would use so it is never charged twice.
    Refused with `InsufficientFunds` when the contract cannot pay it without going below
    −credit limit; the caller's transaction then rolls the assignment back."""
    account = inputs.fetch(session, Account, account_id, "account_id")
    day = local_today(account)
    subscription = assign_service(session, account.id, service_id, start_on=day)
    key, first, last, amount = period_charge(subscription, day)
    contract = session.get(Contract, account.contract_id, populate_existing=True,
                           with_for_update=True)
    available = contract.balance + contract.credit_limit
    if amount > available:
        raise InsufficientFunds("amount", f"{amount} needed, {available} available on "
                                          f"contract {contract.number}")
    add_charge(session, key=key, contract_id=contract.id, account_id=account.id,
               subscription_id=subscription.id, service_id=subscription.service_id,
               kind="one_time" if subscription.service.kind == "one_time" else "periodic",
               period_start=first, period_end=last, amount=amount, comment="purchase",
               quantity=Decimal((last - first).days + 1))
    return subscription
