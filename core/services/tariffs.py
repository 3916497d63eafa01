"""Edits of a tariff that change what plugins deliver, carried to the accounts on it.

A tariff is a plain settings row the admin edits, but some of its attributes reach the
platforms through the plugins (the device limit a TV platform enforces). Without an
event such an edit would wait for a reconciliation; so the edit calls `announce_edit`,
which emits `tariff_updated` for each account on the tariff, in the edit's transaction
(the transactional outbox: the events commit with the edit or not at all).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from core.events import account_snapshot, emit_many
from core.models import Account, Tariff

#: The tariff attributes plugins deliver to their platforms.
DELIVERED = ("device_limit",)


def delivered_changes(tariff: Tariff) -> dict[str, tuple[Any, Any]]:
    """{attribute: (old, new)} of the delivered attributes changed on `tariff` and not
    flushed yet (the row's history says what changed)."""
    state = inspect(tariff)
    if state.pending or state.transient:
        return {}  # a new tariff: no account is on it yet
    changes = {}
    for name in DELIVERED:
        history = state.attrs[name].history
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if history.has_changes() and old != new:
            changes[name] = (old, new)
    return changes


def announce_edit(session: Session, tariff: Tariff) -> int:
    """Emit `tariff_updated` for every account on `tariff` (trashed ones too: they may
    come back) when this edit changed an attribute plugins deliver; call it after
    changing the row, before the flush (it flushes nothing). Payload: "account", "tariff" (id, name), "old"
    and "new" (the changed attributes only). Returns how many events were written."""
    changes = delivered_changes(tariff)
    if not changes:
        return 0
    old = {name: values[0] for name, values in changes.items()}
    new = {name: values[1] for name, values in changes.items()}
    # Not flushed: the caller's audit entry still reads the row's history. The snapshots
    # read the tariff object in the session, which holds the new values.
    with session.no_autoflush:
        accounts = session.scalars(select(Account).where(Account.tariff_id == tariff.id)
                                   .order_by(Account.id)).all()
        return emit_many(session, [
            ("tariff_updated", {"account": account_snapshot(session, account),
                                "tariff": {"id": tariff.id, "name": tariff.name},
                                "old": old, "new": new},
             account.id, account.contract_id, {account.agent.type})
            for account in accounts])
