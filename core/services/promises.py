"""Promised payments (обещанный платёж): a temporary credit a manager, or later the
subscriber's cabinet, gives a contract so its services work until the money arrives.

The operator sets the largest amount, how many days it holds and how often one may be
taken (`[money] promise_max_amount`, `promise_days`, `promise_every_days`); a contract
has at most one open. Giving it writes a payment row of kind "promise" (the balance goes
up, balance blocks are lifted as by a payment). It ends, by a row of kind "promise_end"
taking the amount back and linked to the promise's row, either when payments made since
it was given cover it (in the payment's transaction) or on the first billing day after
its last day (`expire_promises`, safe to run twice: an ended promise is not ended again).
Either way the balance blocks are recomputed as the billing day would.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import blocking
from core.audit import audit
from core.clock import now
from core.errors import Duplicate, ValidationError
from core.models import Contract, Payment, PromisedPayment
from core.money import money
from core.runtime import actor_of
from core.services import inputs
from core.services.corrections import money_settings, post
from core.services.customers import find_contract
from core.services.dates import operator_today


def open_promise(session: Session, contract_id: int) -> PromisedPayment | None:
    return session.scalars(select(PromisedPayment).where(
        PromisedPayment.contract_id == contract_id, PromisedPayment.ended_at.is_(None))).first()


def give_promise(session: Session, contract: Any, amount: Any, *,
                 reason: Any = None) -> PromisedPayment:
    """Give a promised payment of `amount` until today + promise_days − 1 (operator's
    dates). Refused, naming the field, above the maximum, while one is open, or within
    promise_every_days of the last one."""
    settings = money_settings(session)
    target = find_contract(session, contract, "contract")
    value = money(amount, "amount", allow_zero=False)
    most = settings["promise_max_amount"]
    if not most:
        raise ValidationError("amount", "promised payments are off "
                                        "([money] promise_max_amount is 0)")
    if value > most:
        raise ValidationError("amount", f"at most {most} ([money] promise_max_amount)")
    reason = inputs.text(reason, "reason", required=False, max_len=500)
    session.get(Contract, target.id, with_for_update=True)  # one promise at a time
    current = open_promise(session, target.id)
    if current is not None:
        raise Duplicate("contract", f"contract {target.number} already has promised payment "
                                    f"#{current.id} of {current.amount} until {current.until}")
    _check_interval(session, target, settings["promise_every_days"])
    until = operator_today(session) + timedelta(days=settings["promise_days"] - 1)
    try:
        credit, balance = post(session, target, "promise", value, source="promise",
                               external_id=uuid.uuid4().hex,
                               comment=reason or f"promised payment until {until}")
        with session.begin_nested():
            promise = PromisedPayment(contract_id=target.id, amount=value, until=until,
                                      given_at=credit.created_at, credit_id=credit.id,
                                      created_by=actor_of(session))
            session.add(promise)
            session.flush()
    except IntegrityError:  # another one given at the same moment
        raise Duplicate("contract", f"contract {target.number} already has a promised "
                                    f"payment") from None
    audit(session, "promise", "contract", target.id,
          {"promise_id": promise.id, "amount": value, "until": until, "reason": reason,
           "balance_after": balance})
    blocking.after_credit(session, target.id)
    return promise


def _check_interval(session: Session, contract: Contract, every_days: int) -> None:
    if not every_days:
        return
    last = session.scalar(select(func.max(PromisedPayment.given_at))
                          .where(PromisedPayment.contract_id == contract.id))
    if last is not None and now() - last < timedelta(days=every_days):
        raise ValidationError("contract", f"contract {contract.number} had a promised payment "
                                          f"on {last:%Y-%m-%d}; the next one from "
                                          f"{last + timedelta(days=every_days):%Y-%m-%d} "
                                          f"([money] promise_every_days)")


def _end(session: Session, promise: PromisedPayment, why: str) -> None:
    contract = session.get(Contract, promise.contract_id)
    closing, balance = post(session, contract, "promise_end", -promise.amount,
                            source="promise_end", external_id=str(promise.id),
                            comment=f"promised payment #{promise.id} {why}",
                            reverses_id=promise.credit_id)
    promise.ended_at = closing.created_at
    promise.end_reason = why
    promise.closing_id = closing.id
    session.flush()
    audit(session, "promise_end", "contract", contract.id,
          {"promise_id": promise.id, "amount": promise.amount, "reason": why,
           "balance_after": balance})
    blocking.check_balances(session, [contract.id])


def settle_promises(session: Session, contract_id: int) -> bool:
    """After a payment: end the contract's open promise if the payments received since it
    was given (less any of them reversed) cover it. True if it ended."""
    promise = open_promise(session, contract_id)
    if promise is None:
        return False
    reversed_ids = select(Payment.reverses_id).where(Payment.reverses_id.is_not(None))
    paid = session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.contract_id == contract_id, Payment.kind == "payment",
        Payment.created_at >= promise.given_at, Payment.id.not_in(reversed_ids)))
    if paid < promise.amount:
        return False
    _end(session, promise, "paid")
    return True


def expire_promises(session: Session, day: date) -> int:
    """End every open promise whose last day is before `day` (the billing day's step)."""
    due = list(session.scalars(select(PromisedPayment).where(
        PromisedPayment.ended_at.is_(None), PromisedPayment.until < day)
        .order_by(PromisedPayment.id)))
    for promise in due:
        _end(session, promise, "expired")
    return len(due)
