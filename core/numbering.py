"""Document numbers without gaps or duplicates under concurrency.

A number is taken with one `INSERT … ON CONFLICT DO UPDATE SET last = last + 1
RETURNING last` on the plan's counter row: the row stays locked until the transaction
that took the number ends, so two transactions never get the same number, and a rolled
back transaction gives its number back (no gap).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.models import NumberCounter, NumberPlan


def next_numbers(session: Session, plan: NumberPlan, on: date, count: int) -> list[str]:
    """`count` consecutive numbers of `plan` in one statement (a batch of invoices)."""
    scope = {"never": "all", "yearly": f"{on:%Y}", "monthly": f"{on:%Y-%m}"}[plan.reset]
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(NumberCounter).values(plan_id=plan.id, scope=scope, last=count)
    statement = statement.on_conflict_do_update(
        index_elements=["plan_id", "scope"], set_={"last": NumberCounter.last + count}
    ).returning(NumberCounter.last)
    last = session.execute(statement).scalar_one()
    return [plan.pattern.format(seq=seq, year=on.year, month=on.month)
            for seq in range(last - count + 1, last + 1)]


def next_number(session: Session, plan: NumberPlan, on: date) -> str:
    return next_numbers(session, plan, on, 1)[0]
