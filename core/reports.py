"""The back office's reports, as rows of plain values (text, int, Decimal, date), for the
admin's report pages, CSV (`render_csv`) and XLSX (core.xlsx).

Each report is one or a few aggregate queries (GROUP BY in the database, never a loop
over ledger rows in Python), so it runs on a million accounts. Periods are the operator's
days, `from` and `to` inclusive, checked as statements check them; a month of a period
is computed in SQL by one CASE over the month ends in the operator's time zone, exact on
SQLite and PostgreSQL alike (SQLite has no time-zone function).

- `payments`: payment-side rows per month, kind (money received, or a correction:
  credit, promised payment, reversal…), source and manager (who recorded it: a
  manager's login, "cli", "system"…), count and sum, then a total per kind.
- `debtors` (today): every contract below zero, most indebted first, with its debt, its
  credit limit and the days it has been overdue, counted from the moment the billing day
  found its balance below the credit limit and the grace amount, the moment balance
  blocking counts its grace days from (`contract.below_limit_since`); a debt still
  within the limit is 0 days overdue.
- `blocked` (today): accounts not in the trash with an open block, per reason (the
  strongest open block, which names the account's state: core.state) and agent.
- `consumption`: per service and agent, the charges whose days fall in the period
  (count and amount; charges without a service, such as manual ones, under their kind)
  and the usage records of those days rated into them (count and measured quantity).
- `revenue`: per month, what was charged (charges by the month of the days they are
  for), refunded (negative charges), the revenue (the two together) and the money
  received (payments less their reversals, by the time they were received).
- `subscribers`: per month, new contracts (created that month) and lost ones. A contract
  has no closing date of its own; it is *lost* when every one of its accounts is in the
  trash, in the month its last account went there. An account restored from the trash
  makes it not lost again, so the figure of a past month can shrink.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from core import csvout
from core.charging import day_start, month_bounds
from core.clock import now
from core.documents import money_text
from core.errors import ValidationError
from core.models import (Account, Agent, Block, Charge, Contract, Payment, Service, Subscriber,
                         Subscription, UsageRecord)
from core.services.dates import operator_today, operator_zone
from core.state import PRECEDENCE, is_open
from core.statements import check_period

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Report:
    """A report's columns and rows (values: text, int, Decimal, date or None)."""

    name: str
    header: tuple[str, ...]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Period:
    """A checked period of the operator's days and its months, with the SQL that puts a
    day (a DATE column) or an instant (a timestamp) into it and names its month."""

    first: date
    last: date
    zone: str

    @classmethod
    def of(cls, session: Session, first: Any, last: Any) -> "Period":
        first_day, last_day = check_period(first, last, operator_today(session))
        return cls(first_day, last_day, operator_zone(session))

    @property
    def months(self) -> list[tuple[date, date]]:
        """(first day, last day) of each month of the period, cut at its ends."""
        pieces, start = [], self.first
        while start <= self.last:
            end = min(month_bounds(start)[1], self.last)
            pieces.append((start, end))
            start = end + timedelta(days=1)
        return pieces

    def _bound(self, day: date, instant: bool) -> Any:
        return day_start(day, self.zone) if instant else day

    def holds(self, column, instant: bool = True):
        """SQL: `column` falls in the period."""
        return (column >= self._bound(self.first, instant)) & (
            column < self._bound(self.last + timedelta(days=1), instant))

    def month(self, column, instant: bool = True):
        """SQL: the month ("YYYY-MM") of the period `column` falls in."""
        return case(*[(column < self._bound(end + timedelta(days=1), instant),
                       f"{start:%Y-%m}") for start, end in self.months])

    def labels(self) -> list[str]:
        return [f"{start:%Y-%m}" for start, _end in self.months]


def _grouped(session: Session, inner, keys: Iterable[str], *aggregates) -> list[list[Any]]:
    """GROUP BY `keys` of the subquery `inner` (its month computed once inside it: a
    CASE with parameters cannot be grouped on as it is by PostgreSQL), ordered by them."""
    sub = inner.subquery()
    columns = [sub.c[k] for k in keys]
    return [list(row) for row in session.execute(
        select(*columns, *(a(sub) for a in aggregates)).group_by(*columns).order_by(*columns))]


def _sum(name: str) -> Callable:
    return lambda sub: func.coalesce(func.sum(sub.c[name]), ZERO)


def _count(sub) -> Any:
    return func.count()


def payments(session: Session, first: Any = None, last: Any = None) -> Report:
    """Payment-side rows received per month, kind, source and manager, then a total per
    kind: money received ("payment") apart from corrections (credits, promised payments,
    reversals and their ends), so the money of the till is never mixed with them."""
    period = Period.of(session, first, last)
    inner = select(period.month(Payment.received_at).label("month"), Payment.kind,
                   Payment.source, Payment.created_by, Payment.amount
                   ).where(period.holds(Payment.received_at))
    rows = _grouped(session, inner, ("month", "kind", "source", "created_by"), _count,
                    _sum("amount"))
    totals: dict[str, list[Any]] = {}
    for row in rows:
        total = totals.setdefault(row[1], ["total", row[1], None, None, 0, ZERO])
        total[4] += row[4]
        total[5] += row[5]
    return Report("payments", ("month", "kind", "source", "manager", "count", "amount"),
                  rows + [totals[kind] for kind in sorted(totals)])


def _today_only(first: Any, last: Any, name: str) -> None:
    if first is not None or last is not None:
        raise ValidationError("from" if first is not None else "to",
                              f"the {name} report is of today; give no period")


def debtors(session: Session, first: Any = None, last: Any = None) -> Report:
    """Contracts with a negative balance now, most indebted first (no period: the debt
    is today's; `from` / `to` are refused so nobody takes it for a past one)."""
    _today_only(first, last, "debtors")
    zone = ZoneInfo(operator_zone(session))
    today = now().astimezone(zone).date()
    rows = []
    for number, name, balance, limit, since in session.execute(
            select(Contract.number, Subscriber.name, Contract.balance, Contract.credit_limit,
                   Contract.below_limit_since)
            .join(Subscriber, Subscriber.id == Contract.subscriber_id)
            .where(Contract.balance < 0).order_by(Contract.balance, Contract.number)):
        day = since.astimezone(zone).date() if since is not None else None
        rows.append([number, name, -balance, limit, (today - day).days if day else 0, day])
    rows.append(["total", len(rows), sum((row[2] for row in rows), start=ZERO), None, None,
                 None])
    return Report("debtors", ("contract", "subscriber", "debt", "credit_limit",
                              "days_overdue", "below_limit_since"), rows)


def blocked(session: Session, first: Any = None, last: Any = None) -> Report:
    """Accounts blocked now, per reason (their strongest open block) and agent: how many
    accounts, on how many contracts, and since when the oldest of those blocks is open."""
    _today_only(first, last, "blocked")
    rank = case(*[(Block.source == source, i) for i, source in enumerate(PRECEDENCE)])
    strongest = (select(Block.account_id, func.min(rank).label("rank"),
                        func.min(Block.start_at).label("since"))
                 .where(is_open(now())).group_by(Block.account_id).subquery())
    rows = [[PRECEDENCE[r], agent, accounts, contracts]
            for r, agent, accounts, contracts in session.execute(
                select(strongest.c.rank, Agent.name, func.count(),
                       func.count(distinct(Account.contract_id)))
                .join(Account, Account.id == strongest.c.account_id)
                .join(Agent, Agent.id == Account.agent_id)
                .where(Account.trashed_at.is_(None))
                .group_by(strongest.c.rank, Agent.name).order_by(strongest.c.rank, Agent.name))]
    rows.append(["total", None, sum(row[2] for row in rows), None])
    return Report("blocked", ("reason", "agent", "accounts", "contracts"), rows)


def consumption(session: Session, first: Any = None, last: Any = None) -> Report:
    """Charges and rated usage of the period's days per service and agent."""
    period = Period.of(session, first, last)
    service = func.coalesce(Service.name, Charge.kind)
    charged = session.execute(
        select(service, Agent.name, func.count(), func.sum(Charge.amount))
        .select_from(Charge).outerjoin(Service, Service.id == Charge.service_id)
        .outerjoin(Account, Account.id == Charge.account_id)
        .outerjoin(Agent, Agent.id == Account.agent_id)
        .where(period.holds(Charge.period_start, instant=False))
        .group_by(service, Agent.name))
    used = session.execute(
        select(Service.name, Agent.name, func.count(), func.sum(UsageRecord.value))
        .select_from(UsageRecord)
        .join(Subscription, Subscription.id == UsageRecord.subscription_id)
        .join(Service, Service.id == Subscription.service_id)
        .join(Account, Account.id == UsageRecord.account_id)
        .join(Agent, Agent.id == Account.agent_id)
        .where(period.holds(UsageRecord.day, instant=False), UsageRecord.state == "rated")
        .group_by(Service.name, Agent.name))
    merged: dict[tuple[str, str], list[Any]] = {}
    for name, agent, count, amount in charged:
        merged.setdefault((name, agent or ""), [0, None, 0, ZERO])[2:] = [count, amount]
    for name, agent, count, quantity in used:
        merged.setdefault((name, agent or ""), [0, None, 0, ZERO])[:2] = [count, quantity]
    rows = [[name, agent or None, *values] for (name, agent), values in sorted(merged.items())]
    rows.append(["total", None, sum(r[2] for r in rows), None, sum(r[4] for r in rows),
                 sum((r[5] for r in rows), start=ZERO)])
    return Report("consumption", ("service", "agent", "usage_records", "usage_quantity",
                                  "charges", "amount"), rows)


def _per_month(period: Period, found: Iterable[list[Any]], width: int) -> dict[str, list]:
    """Every month of the period, with the figures found for it (zeros elsewhere)."""
    months: dict[str, list[Any]] = {m: [0] * width for m in period.labels()}
    for month, *values in found:
        months[month] = values
    return months


def revenue(session: Session, first: Any = None, last: Any = None) -> Report:
    """Charged, refunded, revenue and money received per month of the period."""
    period = Period.of(session, first, last)
    refund = Charge.kind == "refund"
    charges = _grouped(session, select(
        period.month(Charge.period_start, instant=False).label("month"),
        case((refund, ZERO), else_=Charge.amount).label("charged"),
        case((refund, Charge.amount), else_=ZERO).label("refunded"))
        .where(period.holds(Charge.period_start, instant=False)),
        ("month",), _sum("charged"), _sum("refunded"))
    received = _grouped(session, select(
        period.month(Payment.received_at).label("month"), Payment.amount)
        .where(period.holds(Payment.received_at), Payment.kind.in_(("payment", "reversal"))),
        ("month",), _sum("amount"))
    charged = _per_month(period, charges, 2)
    paid = _per_month(period, received, 1)
    rows = [[month, ZERO + c, ZERO + r, ZERO + c + r, ZERO + paid[month][0]]
            for month, (c, r) in charged.items()]
    rows.append(["total", *(sum((row[i] for row in rows), start=ZERO) for i in range(1, 5))])
    return Report("revenue", ("month", "charged", "refunded", "revenue", "received"), rows)


def subscribers(session: Session, first: Any = None, last: Any = None) -> Report:
    """New and lost contracts per month of the period (see the module's docstring)."""
    period = Period.of(session, first, last)
    new = _grouped(session, select(period.month(Contract.created_at).label("month"))
                   .where(period.holds(Contract.created_at)), ("month",), _count)
    ended = (select(Account.contract_id, func.max(Account.trashed_at).label("lost_at"))
             .group_by(Account.contract_id)
             .having(func.count() == func.count(Account.trashed_at)).subquery())
    lost = _grouped(session, select(period.month(ended.c.lost_at).label("month"))
                    .where(period.holds(ended.c.lost_at)), ("month",), _count)
    gained, gone = _per_month(period, new, 1), _per_month(period, lost, 1)
    rows = [[month, n, gone[month][0], n - gone[month][0]] for month, (n,) in gained.items()]
    rows.append(["total", *(sum(row[i] for row in rows) for i in range(1, 4))])
    return Report("subscribers", ("month", "new_contracts", "lost_contracts", "net"), rows)


REPORTS: dict[str, Callable[..., Report]] = {
    "payments": payments, "debtors": debtors, "blocked": blocked, "consumption": consumption,
    "revenue": revenue, "subscribers": subscribers}
#: the reports of today's state: they take no period
TODAY = ("debtors", "blocked")


def build(session: Session, name: str, first: Any = None, last: Any = None) -> Report:
    """The report called `name` (see REPORTS); ValidationError naming the bad field."""
    if name not in REPORTS:
        raise ValidationError("name", f"unknown report {name[:40]!r}; known: {', '.join(REPORTS)}")
    return REPORTS[name](session, first, last)


def render_csv(report: Report) -> str:
    """The report as CSV: its header, then its rows (money with two decimals, days as
    YYYY-MM-DD)."""
    out = io.StringIO()
    writer = csvout.writer(out, lineterminator="\n")
    writer.writerow(report.header)
    writer.writerows([money_text(v) if isinstance(v, Decimal) else v for v in row]
                     for row in report.rows)
    return out.getvalue()
