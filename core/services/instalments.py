"""Instalments for equipment (рассрочка): a price split into N monthly charges, N at most
`[money] instalment_max_months`.

The n-th charge is due on the first day plus n−1 months (the 31st becomes the month's
last day) and is written by the billing day of that date or, after a missed day, by the
next one; each is a charge of kind "manual" keyed `i:<instalment>:<n>` with the
instalment's title, so a day run twice writes nothing twice. The price is split into
equal parts to the cent, the last part taking the remainder, so the parts sum to it.
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import blocking
from core.audit import audit
from core.errors import ValidationError
from core.ledger import add_charge
from core.models import Instalment
from core.money import CENT, money
from core.runtime import actor_of
from core.services import inputs
from core.services.corrections import check_confirmed, money_settings
from core.services.customers import find_contract
from core.services.dates import operator_today

def due_on(first: date, n: int) -> date:
    """The date the n-th part (from 1) is due."""
    months = first.month - 1 + n - 1
    year, month = first.year + months // 12, months % 12 + 1
    return date(year, month, min(first.day, calendar.monthrange(year, month)[1]))


def part(price: Decimal, months: int, n: int) -> Decimal:
    """The n-th part: price/months to the cent, the last one the remainder."""
    equal = (price / months).quantize(CENT, rounding=ROUND_DOWN)
    return price - equal * (months - 1) if n == months else equal


def create_instalment(session: Session, contract: Any, title: Any, price: Any, months: Any,
                      *, first_on: Any = None, confirmed: bool = False) -> Instalment:
    """Sell equipment in `months` parts from `first_on` (default today); the parts due by
    today are charged at once."""
    target = find_contract(session, contract, "contract")
    title = inputs.text(title, "title", max_len=200)
    value = money(price, "price", allow_zero=False)
    months = inputs.integer(months, "months", low=1,
                            high=money_settings(session)["instalment_max_months"])
    if value < CENT * months:
        raise ValidationError("price", f"must be at least {CENT * months} to split into "
                                       f"{months} parts")
    check_confirmed(session, value, confirmed)
    today = operator_today(session)
    first = inputs.day(first_on, "first_on", required=False) or today
    if not today - timedelta(days=31) <= first <= today + timedelta(days=366):
        raise ValidationError("first_on", f"{first} is outside the allowed dates "
                                          f"(from {today - timedelta(days=31)} to "
                                          f"{today + timedelta(days=366)})")
    instalment = Instalment(contract_id=target.id, title=title, price=value, months=months,
                            first_on=first, charged=0, created_by=actor_of(session))
    session.add(instalment)
    session.flush()
    audit(session, "create", "instalment", instalment.id,
          {"contract_id": target.id, "title": title, "price": value, "months": months,
           "first_on": first})
    charge_instalments(session, today, [instalment.id])
    blocking.check_balances(session, [target.id])
    session.expire(target, ["balance"])
    return instalment


def charge_instalments(session: Session, day: date, ids: list[int] | None = None
                       ) -> dict[str, Any]:
    """Write every part due by `day` not written yet; returns {"count", "amount"}."""
    query = select(Instalment).where(Instalment.charged < Instalment.months,
                                     Instalment.first_on <= day).order_by(Instalment.id)
    if ids is not None:
        query = query.where(Instalment.id.in_(ids))
    count, amount = 0, Decimal("0.00")
    for instalment in session.scalars(query).all():
        for n in range(instalment.charged + 1, instalment.months + 1):
            due = due_on(instalment.first_on, n)
            if due > day:
                break
            value = part(instalment.price, instalment.months, n)
            if add_charge(session, key=f"i:{instalment.id:012d}:{n:03d}",
                          contract_id=instalment.contract_id, amount=value, kind="manual",
                          period_start=due, period_end=due,
                          comment=f"instalment {n}/{instalment.months}: {instalment.title}"):
                count, amount = count + 1, amount + value
            instalment.charged = n
    session.flush()
    return {"count": count, "amount": amount}
