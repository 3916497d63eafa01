"""Blocking states: setting and lifting blocks, and what each change announces.

A block is one row per reason (core.state explains the precedence). Every block set or
lifted emits `block_set` / `block_lifted` with the account's effective state before and
after; when the account goes from active to blocked, each active subscription emits
`subscription_deactivated` (reason "block"), and `subscription_activated` (reason
"block_lifted") when it comes back. Plugins turn these into their own commands (a pause
on 24h TV; user_drop / b_admin / own_disabled on a NAS).

Balance blocks are automatic: `check_balances` blocks the accounts of contracts whose
balance fell below −(credit limit + grace amount) for at least the grace days, unless
the contract says "do not block"; a credit that brings the balance back to −credit limit
or above lifts them (`after_credit`, called in the payment's transaction).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from core.audit import audit
from core.clock import now
from core.errors import Duplicate, NotFound, ValidationError
from core.events import emit_for_account, subscription_snapshot
from core.models import Account, Block, Contract, Operator, Subscription
from core.runtime import actor_of
from core.services import inputs
from core.services.dates import planned_moment
from core.state import ACTIVE, MANUAL_SOURCES, AccountState, effective_state, is_open


def _block_snapshot(block: Block) -> dict[str, Any]:
    return {"id": block.id, "source": block.source, "start_at": block.start_at,
            "end_at": block.end_at, "reason": block.reason, "created_by": block.created_by}


def _announce(session: Session, account: Account, block: Block, name: str, old_state: str,
              new_state: str) -> None:
    emit_for_account(session, name, account, {"block": _block_snapshot(block),
                                              "old_state": old_state, "new_state": new_state})
    if (old_state == ACTIVE) == (new_state == ACTIVE):
        return
    event, reason = (("subscription_deactivated", "block") if new_state != ACTIVE
                     else ("subscription_activated", "block_lifted"))
    for subscription in session.scalars(select(Subscription).where(
            Subscription.account_id == account.id, Subscription.state == "active")
            .order_by(Subscription.id)):
        emit_for_account(session, event, account,
                         {"subscription": subscription_snapshot(subscription), "reason": reason})


def _states(session: Session, block: Block, at: datetime) -> tuple[str, str]:
    """The account's effective state without and with this block, other blocks as at `at`."""
    others = list(session.scalars(select(Block.source).where(
        Block.account_id == block.account_id, Block.id != block.id, is_open(at))))
    return effective_state(others), effective_state(others + [block.source])


def _apply(session: Session, block: Block, at: datetime) -> None:
    """Announce a block whose start has come."""
    without, with_block = _states(session, block, at)
    block.applied_at = at
    session.flush()
    _announce(session, block.account, block, "block_set", without, with_block)


def set_block(session: Session, account_id: Any, source: str, *, start_at: Any = None,
              end_at: Any = None, reason: str | None = None, system: bool = False) -> Block:
    """Block an account for `source` from `start_at` (default now) until `end_at` (None:
    until lifted). A start in the future is announced when it comes (`apply_due`).
    Managers set admin, voluntary and disabled blocks; balance blocks are the system's."""
    account = inputs.fetch(session, Account, account_id, "account_id")
    allowed = MANUAL_SOURCES + ((AccountState.BALANCE,) if system else ())
    if source not in allowed:
        raise ValidationError("source", f"must be one of {', '.join(allowed)}")
    if account.trashed:
        raise ValidationError("account_id", f"account {account.id} is in the trash")
    at = now()
    start = inputs.moment(start_at, "start_at", required=False) or at
    end = inputs.moment(end_at, "end_at", required=False)
    if end is not None and end <= max(start, at):
        raise ValidationError("end_at", "must be later than the start and than now")
    planned_moment(session, start, "start_at")
    if end is not None:
        planned_moment(session, end, "end_at")
    reason = inputs.text(reason, "reason", required=False, max_len=500)
    existing = session.scalars(select(Block).where(
        Block.account_id == account.id, Block.source == source, Block.lifted_at.is_(None),
        or_(Block.end_at.is_(None), Block.end_at > at))).first()
    if existing is not None:
        raise Duplicate("source", f"account {account.id} already has a {source} block "
                                  f"(#{existing.id}, from {existing.start_at:%Y-%m-%d %H:%M})")
    block = Block(account=account, source=source, start_at=start, end_at=end, reason=reason,
                  created_by=actor_of(session))
    session.add(block)
    session.flush()
    if start <= at:
        _apply(session, block, at)
    audit(session, "block", "account", account.id,
          {"source": source, "start_at": start, "end_at": end, "reason": reason})
    return block


def lift_block(session: Session, account_id: Any, source: str, *, reason: str | None = None
               ) -> Block:
    """Lift the account's open (or not yet started) block of `source`."""
    account = inputs.fetch(session, Account, account_id, "account_id")
    at = now()
    block = session.scalars(select(Block).where(
        Block.account_id == account.id, Block.source == source, Block.lifted_at.is_(None),
        or_(Block.end_at.is_(None), Block.end_at > at)).order_by(Block.id)).first()
    if block is None:
        raise NotFound("source", f"account {account.id} has no {source} block to lift")
    _lift(session, block, at, reason or "lifted")
    audit(session, "unblock", "account", account.id, {"source": source, "block_id": block.id})
    return block


def _lift(session: Session, block: Block, at: datetime, why: str) -> None:
    without, with_block = _states(session, block, at)
    block.lifted_at = at
    if block.reason is None:
        block.reason = why
    session.flush()
    if block.applied_at is not None:
        _announce(session, block.account, block, "block_lifted", with_block, without)


def apply_due(session: Session, at: datetime | None = None) -> dict[str, int]:
    """Announce dated blocks whose start has come and lift those whose end has passed."""
    at = at or now()
    started = list(session.scalars(select(Block).where(
        Block.applied_at.is_(None), Block.lifted_at.is_(None), Block.start_at <= at,
        or_(Block.end_at.is_(None), Block.end_at > at)).order_by(Block.id)))
    for block in started:
        _apply(session, block, at)
    ended = list(session.scalars(select(Block).where(
        Block.lifted_at.is_(None), Block.end_at.is_not(None), Block.end_at <= at)
        .order_by(Block.id)))
    for block in ended:
        _lift(session, block, at, "ended")
    return {"started": len(started), "ended": len(ended)}


def _open_balance_block():
    return and_(Block.source == AccountState.BALANCE, Block.lifted_at.is_(None))


def check_balances(session: Session, contract_ids: Iterable[int] | None = None,
                   at: datetime | None = None) -> dict[str, int]:
    """Set and lift balance blocks to match balances (all contracts, or the given ones).

    Returns {"blocked": accounts blocked, "lifted": accounts unblocked}.
    """
    at = at or now()
    ids = None if contract_ids is None else list(set(contract_ids))
    scope = (lambda q: q) if ids is None else (lambda q: q.where(Contract.id.in_(ids)))
    grace_amount = func.coalesce(Contract.grace_amount, Operator.grace_amount)
    threshold = -(Contract.credit_limit + grace_amount)
    below = session.scalars(scope(
        select(Contract.id).join(Operator, Operator.id == Contract.operator_id)
        .where(Contract.balance < threshold, Contract.below_limit_since.is_(None))))
    below_ids = list(below)
    if below_ids:
        session.execute(update(Contract).where(Contract.id.in_(below_ids))
                        .values(below_limit_since=at),
                        execution_options={"synchronize_session": False})
    recovered = list(session.scalars(scope(
        select(Contract.id).join(Operator, Operator.id == Contract.operator_id)
        .where(Contract.balance >= threshold, Contract.below_limit_since.is_not(None)))))
    if recovered:
        session.execute(update(Contract).where(Contract.id.in_(recovered))
                        .values(below_limit_since=None),
                        execution_options={"synchronize_session": False})
    candidates = session.execute(scope(
        select(Account.id, Contract.below_limit_since,
               func.coalesce(Contract.grace_days, Operator.grace_days))
        .join(Contract, Contract.id == Account.contract_id)
        .join(Operator, Operator.id == Contract.operator_id)
        .where(Account.trashed_at.is_(None), Contract.do_not_block.is_(False),
               Contract.balance < threshold,
               ~select(Block.id).where(Block.account_id == Account.id, _open_balance_block())
               .exists())
        .order_by(Account.id))).all()
    blocked = 0
    for account_id, since, grace_days in candidates:
        if since is not None and at - since < timedelta(days=grace_days or 0):
            continue
        set_block(session, account_id, AccountState.BALANCE,
                  reason="balance below the credit limit", system=True)
        blocked += 1
    liftable = session.scalars(scope(
        select(Block).join(Account, Account.id == Block.account_id)
        .join(Contract, Contract.id == Account.contract_id)
        .where(_open_balance_block(),
               or_(Contract.balance >= -Contract.credit_limit, Contract.do_not_block.is_(True)))
        .order_by(Block.id))).all()
    for block in liftable:
        _lift(session, block, at, "balance restored")
    return {"blocked": blocked, "lifted": len(liftable)}


def after_credit(session: Session, contract_id: int) -> None:
    """After a payment: lift the contract's balance blocks if the balance is back at
    −credit limit or above (or the contract says "do not block"), and end its time below
    the limit once it is above the grace amount. Two small queries on a payment's path."""
    row = session.execute(
        select(Contract.balance, Contract.credit_limit, Contract.do_not_block,
               Contract.below_limit_since, func.coalesce(Contract.grace_amount,
                                                         Operator.grace_amount))
        .join(Operator, Operator.id == Contract.operator_id).where(Contract.id == contract_id)
    ).one()
    balance, limit, do_not_block, since, grace = row
    if since is not None and balance >= -(limit + grace):
        session.execute(update(Contract).where(Contract.id == contract_id)
                        .values(below_limit_since=None),
                        execution_options={"synchronize_session": False})
    if balance < -limit and not do_not_block:
        return
    at = now()
    for block in session.scalars(
            select(Block).join(Account, Account.id == Block.account_id)
            .where(Account.contract_id == contract_id, _open_balance_block()).order_by(Block.id)):
        _lift(session, block, at, "balance restored")
