"""The ledger's one rule: a contract's balance moves with every charge and payment, in the
same transaction, by an atomic `balance = balance ± x`.

Charges written set-based (a day's run, a CDR file) carry a `batch` tag; `post_batch`
then moves every affected balance with one UPDATE. `verify_balances` checks the identity
balance = payments − charges for every contract.
"""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from core.clock import now
from core.models import Charge, Contract, Payment


def new_batch(prefix: str) -> str:
    return f"{prefix}:{uuid.uuid4().hex[:16]}"


def post_batch(session: Session, batch: str) -> int:
    """Debit every contract by the sum of its charges in `batch`; returns how many moved.

    One `UPDATE contract … FROM (SELECT contract_id, sum(amount) … GROUP BY contract_id)`:
    the batch is aggregated once, whatever its size."""
    totals = (select(Charge.contract_id, func.sum(Charge.amount).label("total"))
              .where(Charge.batch == batch).group_by(Charge.contract_id).subquery())
    result = session.execute(
        update(Contract).where(Contract.id == totals.c.contract_id)
        .values(balance=Contract.balance - totals.c.total),
        execution_options={"synchronize_session": False})
    return result.rowcount


def add_charge(session: Session, *, key: str, contract_id: int, amount: Decimal, kind: str,
               period_start: date, period_end: date, account_id: int | None = None,
               subscription_id: int | None = None, service_id: int | None = None,
               quantity: Decimal | None = None, comment: str | None = None) -> bool:
    """One charge, idempotent by `key`; moves the balance. False if the key existed."""
    if session.scalar(select(Charge.id).where(Charge.key == key)) is not None:
        return False
    session.execute(insert(Charge).values(
        key=key, contract_id=contract_id, account_id=account_id, subscription_id=subscription_id,
        service_id=service_id, kind=kind, period_start=period_start, period_end=period_end,
        quantity=quantity, amount=amount, comment=comment, created_at=now()))
    session.execute(update(Contract).where(Contract.id == contract_id)
                    .values(balance=Contract.balance - amount),
                    execution_options={"synchronize_session": False})
    return True


def verify_balances(session: Session) -> list[tuple[int, Decimal, Decimal]]:
    """Contracts whose balance differs from payments − charges: (id, balance, expected)."""
    paid = (select(func.coalesce(func.sum(Payment.amount), 0))
            .where(Payment.contract_id == Contract.id).scalar_subquery())
    charged = (select(func.coalesce(func.sum(Charge.amount), 0))
               .where(Charge.contract_id == Contract.id).scalar_subquery())
    rows = session.execute(select(Contract.id, Contract.balance, paid - charged))
    return [(cid, balance, Decimal(str(expected)).quantize(Decimal("0.01")))
            for cid, balance, expected in rows
            if balance != Decimal(str(expected)).quantize(Decimal("0.01"))]
