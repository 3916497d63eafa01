"""Payments: a credit on a contract, idempotent by (source, external id)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.audit import audit
from core.blocking import after_credit
from core.clock import now
from core.errors import Duplicate
from core.events import emit
from core.models import Contract, Payment
from core.money import money
from core.runtime import actor_of
from core.services import dates, inputs
from core.services.customers import find_contract
from core.services.promises import settle_promises

SOURCE = r"[A-Za-z0-9_.:-]+"


@dataclass(frozen=True)
class PaymentResult:
    payment: Payment
    created: bool  # False: the same payment had been recorded before (a replay)


def record_payment(session: Session, contract: Any, amount: Any, *, source: str = "manual",
                   external_id: Any = None, received_at: Any = None,
                   comment: str | None = None) -> PaymentResult:
    """Credit `amount` to a contract (given by id or number).

    Replaying the same (source, external_id) with the same contract and amount returns
    the recorded payment and changes nothing; the same key with a different contract or
    amount is refused as a duplicate. The balance moves in the same transaction, and a
    `payment_received` event is written with it; an open promised payment that payments
    since cover ends with it (core.services.promises).
    """
    target = find_contract(session, contract, "contract")
    value = money(amount, "amount", allow_zero=False)
    source = inputs.text(source, "source", max_len=50, pattern=SOURCE,
                         what="letters, digits and _ . : - only")
    external = inputs.text(external_id, "external_id", required=False, max_len=100)
    when = inputs.moment(received_at, "received_at", required=False)
    when = now() if when is None else dates.payment_moment(session, when)
    comment = inputs.text(comment, "comment", required=False, max_len=500)
    if external is not None:
        previous = _recorded(session, target, value, source, external)
        if previous is not None:
            return PaymentResult(previous, False)
    payment = Payment(contract_id=target.id, amount=value, source=source,
                      external_id=external or uuid.uuid4().hex, received_at=when,
                      comment=comment, created_by=actor_of(session))
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()
    except IntegrityError:  # the same key committed by a concurrent transaction
        return PaymentResult(_recorded(session, target, value, source, external), False)
    balance = session.execute(
        update(Contract).where(Contract.id == target.id)
        .values(balance=Contract.balance + value).returning(Contract.balance)).scalar_one()
    session.expire(target, ["balance"])
    emit(session, "payment_received", {"payment": {
        "id": payment.id, "contract_id": target.id, "contract_number": target.number,
        "amount": value, "source": source, "external_id": payment.external_id,
        "received_at": when, "balance_after": balance}}, contract_id=target.id)
    audit(session, "create", "payment", payment.id,
          {"contract_id": target.id, "amount": value, "source": source,
           "external_id": payment.external_id})
    after_credit(session, target.id)
    settle_promises(session, target.id)
    return PaymentResult(payment, True)


def _recorded(session: Session, contract: Contract, amount, source: str, external: str
              ) -> Payment | None:
    previous = session.scalars(select(Payment).where(
        Payment.source == source, Payment.external_id == external)).first()
    if previous is None:
        return None
    if previous.contract_id != contract.id or previous.amount != amount:
        raise Duplicate("external_id", f"{source}/{external} is already payment {previous.id} "
                                       f"of {previous.amount} on contract {previous.contract_id}")
    return previous
