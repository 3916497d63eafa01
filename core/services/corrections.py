"""Corrections of money: a payment reversed (storno), a manual charge, a manual credit.

Nothing in the ledger is edited or deleted. A correction is a row of its own carrying its
reason (the `comment`) and, when it undoes something, the row it undoes: a reversal is a
negative payment row whose `reverses_id` names the payment (unique, so twice is refused);
a manual charge is a charge of kind "manual"; a manual credit a payment row of kind
"credit". Each moves the balance in the same transaction, is in the audit log, and
recomputes the contract's balance blocks as the billing day would (core.blocking).

A person entering a large amount confirms it: above `[money] confirm_above` a service
refuses with `ConfirmationNeeded` (field "confirm") unless called with confirmed=True.
"""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import blocking
from core.audit import audit
from core.clock import now
from core.errors import Duplicate, ValidationError
from core.events import emit
from core.ledger import add_charge
from core.models import Charge, Contract, Payment
from core.money import money
from core.runtime import actor_of, runtime_of
from core.services import inputs
from core.services.customers import find_contract
from core.services.dates import operator_today

#: payment kinds a reversal may undo (a promised payment ends by its own rules)
REVERSIBLE = ("payment", "credit")


class ConfirmationNeeded(ValidationError):
    """The amount is above `[money] confirm_above` and the caller did not confirm it."""

    code = "confirm"


def money_settings(session: Session) -> dict[str, Any]:
    return runtime_of(session).settings.section("money")


def check_confirmed(session: Session, amount: Decimal, confirmed: bool) -> None:
    """Refuse an amount above the operator's threshold unless a person confirmed it."""
    limit = money_settings(session)["confirm_above"]
    if limit and amount > limit and not confirmed:
        raise ConfirmationNeeded("confirm", f"{amount} is above {limit:.2f}: confirm the amount "
                                            f"([money] confirm_above)")


def reason_text(value: Any) -> str:
    return inputs.text(value, "reason", max_len=500)


def post(session: Session, contract: Contract, kind: str, amount: Decimal, *, source: str,
         external_id: str, comment: str, reverses_id: int | None = None
         ) -> tuple[Payment, Decimal]:
    """Write one payment-side row and move the balance; returns it and the new balance.
    Raises IntegrityError (the savepoint rolled back) when its key or `reverses_id`
    exists: the caller names the field."""
    row = Payment(contract_id=contract.id, amount=amount, kind=kind, source=source,
                  external_id=external_id, received_at=now(), comment=comment,
                  reverses_id=reverses_id, created_by=actor_of(session))
    with session.begin_nested():
        session.add(row)
        session.flush()
    balance = session.execute(
        update(Contract).where(Contract.id == contract.id)
        .values(balance=Contract.balance + amount).returning(Contract.balance)).scalar_one()
    session.expire(contract, ["balance"])
    return row, balance


def payment_snapshot(payment: Payment, contract: Contract, balance: Decimal) -> dict[str, Any]:
    """The `payment` object of docs/hooks.md."""
    return {"id": payment.id, "contract_id": contract.id, "contract_number": contract.number,
            "amount": payment.amount, "source": payment.source,
            "external_id": payment.external_id, "received_at": payment.received_at,
            "balance_after": balance}


def _reversal_of(session: Session, payment_id: int) -> Payment | None:
    return session.scalars(select(Payment).where(Payment.reverses_id == payment_id)).first()


def reverse_payment(session: Session, payment_id: Any, reason: Any) -> Payment:
    """Reverse a payment or a manual credit: a negative row linked to it, the balance and
    the balance blocks recomputed, `payment_reversed` emitted. Returns the reversal row."""
    original = inputs.fetch(session, Payment, payment_id, "payment_id", lock=True)
    reason = reason_text(reason)
    if original.kind not in REVERSIBLE:
        raise ValidationError("payment_id", f"payment {original.id} is a {original.kind} row, "
                                            f"not a payment or credit: it cannot be reversed")
    done = _reversal_of(session, original.id)
    if done is not None:
        raise Duplicate("payment_id", f"payment {original.id} was already reversed by "
                                      f"{done.id} on {done.created_at:%Y-%m-%d %H:%M}")
    contract = session.get(Contract, original.contract_id)
    try:
        row, balance = post(session, contract, "reversal", -original.amount, source="storno",
                            external_id=str(original.id), comment=reason,
                            reverses_id=original.id)
    except IntegrityError:  # reversed by a concurrent transaction
        raise Duplicate("payment_id", f"payment {original.id} was already reversed") from None
    emit(session, "payment_reversed",
         {"payment": payment_snapshot(original, contract, balance), "reversal_id": row.id,
          "reason": reason}, contract_id=contract.id)
    audit(session, "reverse", "payment", original.id,
          {"contract_id": contract.id, "amount": original.amount, "reversal_id": row.id,
           "reason": reason})
    blocking.check_balances(session, [contract.id])
    return row


def manual_credit(session: Session, contract: Any, amount: Any, reason: Any, *,
                  confirmed: bool = False) -> Payment:
    """Credit a contract by hand (a goodwill credit, a correction): a payment row of kind
    "credit" with its reason; balance blocks lifted if the balance allows."""
    target = find_contract(session, contract, "contract")
    value = money(amount, "amount", allow_zero=False)
    reason = reason_text(reason)
    check_confirmed(session, value, confirmed)
    row, balance = post(session, target, "credit", value, source="credit",
                        external_id=uuid.uuid4().hex, comment=reason)
    audit(session, "credit", "contract", target.id,
          {"payment_id": row.id, "amount": value, "reason": reason, "balance_after": balance})
    blocking.after_credit(session, target.id)
    return row


def manual_charge(session: Session, contract: Any, amount: Any, reason: Any, *,
                  confirmed: bool = False) -> Charge:
    """Charge a contract by hand: a charge of kind "manual" dated today with its reason;
    balance blocks set as the billing day would (its grace days respected)."""
    target = find_contract(session, contract, "contract")
    value = money(amount, "amount", allow_zero=False)
    reason = reason_text(reason)
    check_confirmed(session, value, confirmed)
    day = operator_today(session)
    key = f"m:{uuid.uuid4().hex}"
    add_charge(session, key=key, contract_id=target.id, amount=value, kind="manual",
               period_start=day, period_end=day, comment=reason)
    charge = session.scalars(select(Charge).where(Charge.key == key)).one()
    session.expire(target, ["balance"])
    audit(session, "charge", "contract", target.id,
          {"charge_id": charge.id, "amount": value, "reason": reason})
    blocking.check_balances(session, [target.id])
    return charge
