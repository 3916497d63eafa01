"""Writing events into the outbox, and the `Event` a plugin's notification hook receives.

`emit` runs inside the core operation's transaction: the event row and one delivery row
per listening plugin are committed with the change or not at all (the transactional
outbox). Payloads are snapshots taken at that moment, so a plugin reading an old event
sees the account as it was then, not as it is by the time the event is delivered.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.clock import now
from core.db import jsonable
from core.hookspecs import NOTIFICATIONS
from core.models import Account, Delivery, OutboxEvent, Subscription
from core.runtime import runtime_of
from core.state import account_state


@dataclass(frozen=True)
class Event:
    """A notification as delivered to a plugin.

    `idempotency_key` is the same on every attempt of this delivery; a plugin that
    talks to a platform passes it on or remembers it, so a repeated delivery does not
    repeat the effect. `attempt` counts from 1.

    `facts` is what the plugin's `abonent_delivery_facts` read for this delivery when
    the outbox claimed it (None when the plugin reads nothing ahead, or that read failed).
    """

    id: int
    name: str
    account_id: int | None
    contract_id: int | None
    payload: dict[str, Any]
    created_at: datetime
    idempotency_key: str
    attempt: int
    facts: Any = None


def emit(session: Session, name: str, payload: dict[str, Any], *,
         account_id: int | None = None, contract_id: int | None = None,
         agent_types: Iterable[str] = ()) -> OutboxEvent:
    """Write event `name` and its deliveries in the session's transaction.

    `agent_types` are the agent types the event concerns (the account's, old and new),
    used to pick the listening plugins (see `Runtime.subscribers`).
    """
    if name not in NOTIFICATIONS:
        raise ValueError(f"unknown event {name!r}")
    event = OutboxEvent(name=name, account_id=account_id, contract_id=contract_id,
                        payload=jsonable(payload), created_at=now())
    session.add(event)
    session.flush()
    plugins = runtime_of(session).subscribers(session, f"abonent_{name}",
                                              frozenset(agent_types))
    if plugins:
        session.execute(insert(Delivery), [
            {"event_id": event.id, "plugin": plugin, "account_id": account_id,
             "contract_id": contract_id, "next_attempt_at": event.created_at, "state": "pending", "attempts": 0}
            for plugin in plugins])
    return event


def emit_many(session: Session, events: Iterable[tuple[str, dict[str, Any], int | None,
                                                     int | None, Iterable[str]]]) -> int:
    """Write many events at once (a run that issues thousands): each item is
    (name, payload, account_id, contract_id, agent_types). Returns how many."""
    items = list(events)
    if not items:
        return 0
    at = now()
    for name, *_ in items:
        if name not in NOTIFICATIONS:
            raise ValueError(f"unknown event {name!r}")
    rows = session.execute(insert(OutboxEvent).returning(OutboxEvent.id, sort_by_parameter_order=True),
                           [{"name": name, "payload": jsonable(payload), "account_id": account_id,
                             "contract_id": contract_id, "created_at": at}
                            for name, payload, account_id, contract_id, _ in items]).scalars().all()
    runtime = runtime_of(session)
    deliveries = [{"event_id": event_id, "plugin": plugin, "account_id": account_id,
                   "contract_id": contract_id, "next_attempt_at": at, "state": "pending",
                   "attempts": 0}
                  for event_id, (name, _, account_id, contract_id, types) in zip(rows, items)
                  for plugin in runtime.subscribers(session, f"abonent_{name}",
                                                    frozenset(types))]
    if deliveries:
        session.execute(insert(Delivery), deliveries)
    return len(rows)


def emit_for_account(session: Session, name: str, account: Account, payload: dict[str, Any],
                     *, also_agent_types: Iterable[str] = ()) -> OutboxEvent:
    """`emit` for an event about `account`, with its snapshot under payload["account"]."""
    payload = {"account": account_snapshot(session, account), **payload}
    return emit(session, name, payload, account_id=account.id, contract_id=account.contract_id,
                agent_types={account.agent.type, *also_agent_types})


def account_snapshot(session: Session, account: Account) -> dict[str, Any]:
    """What plugins need to know about an account, as plain JSON-able values."""
    return {
        "id": account.id,
        "login": account.login,
        "contract_id": account.contract_id,
        "contract_number": account.contract.number,
        "subscriber_id": account.contract.subscriber_id,
        "subscriber_name": account.contract.subscriber.name,
        "phones": [p.number for p in account.contract.subscriber.phones],
        "agent_id": account.agent_id,
        "agent_type": account.agent.type,
        "tariff_id": account.tariff_id,
        "tariff_name": account.tariff.name,
        "device_limit": account.tariff.device_limit,
        "ext_id": account.ext_id,
        "fields": dict(account.fields or {}),
        "trashed": account.trashed,
        "state": account_state(session, account.id),
    }


def subscription_snapshot(subscription: Subscription) -> dict[str, Any]:
    service = subscription.service
    return {
        "id": subscription.id,
        "service_id": service.id,
        "service_name": service.name,
        "kind": service.kind,
        "method": service.method,
        "price": service.price,
        "external_code": service.external_code,
        "activate_string": service.activate_string,
        "deactivate_string": service.deactivate_string,
        "is_base": subscription.is_base,
        "state": subscription.state,
        "start_on": subscription.start_on,
        "end_on": subscription.end_on,
        "end_reason": subscription.end_reason,
    }
