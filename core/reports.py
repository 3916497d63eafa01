"""The back office's reports, as rows and as CSV (core.csvout).

- `payments`: the money received from day `from` to day `to` (the operator's days, by
  the time each payment was received), per month, kind (money received, or a
  correction: credit, promised payment, reversal…), source and manager (who recorded
  it: a manager's login, "cli", "system" for a registry import…), with the count and
  the sum of each, then a total per kind. One GROUP BY per month of the period.
- `debtors`: every contract whose balance is below zero now, most indebted first, with
  its debt, its credit limit, and the days it has been overdue: counted from the
  moment the billing day found its balance below the credit limit (and the grace
  amount), the same moment balance blocking counts its grace days from
  (`contract.below_limit_since`); a debt still within the limit is 0 days overdue.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import csvout
from core.charging import day_start, month_bounds
from core.clock import now
from core.documents import money_text
from core.errors import ValidationError
from core.models import Contract, Payment, Subscriber
from core.services.dates import operator_today, operator_zone
from core.statements import check_period

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Report:
    """A report's columns and rows (values: text, int, Decimal or None)."""

    name: str
    header: tuple[str, ...]
    rows: list[list[Any]]


def _months(first: date, last: date) -> Iterable[tuple[date, date]]:
    """The period cut at month ends: (first day, last day) of each piece."""
    start = first
    while start <= last:
        end = min(month_bounds(start)[1], last)
        yield start, end
        start = end + timedelta(days=1)


def payments(session: Session, first: Any = None, last: Any = None) -> Report:
    """Payment-side rows received per month, kind, source and manager, then a total per
    kind: money received ("payment") apart from corrections (credits, promised payments,
    reversals and their ends), so the money of the till is never mixed with them."""
    first_day, last_day = check_period(first, last, operator_today(session))
    zone = operator_zone(session)
    keys = (Payment.kind, Payment.source, Payment.created_by)
    rows: list[list[Any]] = []
    for start, end in _months(first_day, last_day):
        grouped = session.execute(
            select(*keys, func.count(), func.sum(Payment.amount))
            .where(Payment.received_at >= day_start(start, zone),
                   Payment.received_at < day_start(end + timedelta(days=1), zone))
            .group_by(*keys).order_by(*keys))
        rows.extend([f"{start:%Y-%m}", *row] for row in grouped)
    totals: dict[str, list[Any]] = {}
    for row in rows:
        total = totals.setdefault(row[1], ["total", row[1], None, None, 0, ZERO])
        total[4] += row[4]
        total[5] += row[5]
    return Report("payments", ("month", "kind", "source", "manager", "count", "amount"),
                  rows + [totals[kind] for kind in sorted(totals)])


def debtors(session: Session, first: Any = None, last: Any = None) -> Report:
    """Contracts with a negative balance now, most indebted first (no period: the debt
    is today's; `from` / `to` are refused so nobody takes it for a past one)."""
    if first is not None or last is not None:
        raise ValidationError("from" if first is not None else "to",
                              "the debtors report is of today; give no period")
    zone = ZoneInfo(operator_zone(session))
    today = now().astimezone(zone).date()
    rows = [[number, name, -balance, limit,
             (today - since.astimezone(zone).date()).days if since is not None else 0,
             since.astimezone(zone).date().isoformat() if since is not None else None]
            for number, name, balance, limit, since in session.execute(
                select(Contract.number, Subscriber.name, Contract.balance,
                       Contract.credit_limit, Contract.below_limit_since)
                .join(Subscriber, Subscriber.id == Contract.subscriber_id)
                .where(Contract.balance < 0)
                .order_by(Contract.balance, Contract.number))]
    rows.append(["total", len(rows), sum((row[2] for row in rows), start=ZERO), None, None,
                 None])
    return Report("debtors", ("contract", "subscriber", "debt", "credit_limit",
                              "days_overdue", "below_limit_since"), rows)


REPORTS: dict[str, Callable[..., Report]] = {"payments": payments, "debtors": debtors}


def build(session: Session, name: str, first: Any = None, last: Any = None) -> Report:
    """The report called `name` (see REPORTS); ValidationError naming the bad field."""
    if name not in REPORTS:
        raise ValidationError("name", f"unknown report {name[:40]!r}; known: {', '.join(REPORTS)}")
    return REPORTS[name](session, first, last)


def render_csv(report: Report) -> str:
    """The report as CSV: its header, then its rows (money with two decimals)."""
    out = io.StringIO()
    writer = csvout.writer(out, lineterminator="\n")
    writer.writerow(report.header)
    writer.writerows([money_text(v) if isinstance(v, Decimal) else v for v in row]
                     for row in report.rows)
    return out.getvalue()
