"""Periodic charging: the day's run, refunds of unused days, and a purchase charged at once.

The run for a day is set-based: one `INSERT … SELECT … ON CONFLICT (key) DO NOTHING` per
kind of charge (daily fees, monthly fees, one-time services), then one UPDATE of the
affected balances (core.ledger.post_batch). Every charge's key names its subscription and
period, so running a day twice, resuming after a crash, or two runs at once on
PostgreSQL neither doubles nor misses a charge.

Rules:
- daily: `price` for each day the subscription is active (start_on ≤ day ≤ end_on);
- monthly: charged once per calendar month, on the first day it is chargeable, for the
  days from then to the month's end (or to end_on), prorated by days of the month;
- one-time: `price` once, on or after start_on;
- an account in the trash is not charged; a blocked one is charged only when its tariff
  says so for that block source (charge_when_balance / _admin / _voluntary / _disabled);
  a block counts for a day when it was open at the day's start (operator's time zone);
- counter services are charged by usage rating, not here;
- when a subscription ends before the end of a period already charged, the unused days
  are refunded (a charge of kind "refund" with a negative amount).
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.clock import now
from core.errors import ValidationError
from core.ledger import add_charge, new_batch, post_batch
from core.models import Account, Block, Charge, Contract, Operator, Service, Subscription, Tariff
from core.money import round_money
from core.sqlfuncs import day_diff, padded
from core.state import AccountState

CHARGE_WHEN = {AccountState.BALANCE: Tariff.charge_when_balance,
               AccountState.ADMIN: Tariff.charge_when_admin,
               AccountState.VOLUNTARY: Tariff.charge_when_voluntary,
               AccountState.DISABLED: Tariff.charge_when_disabled}


def charge_key(subscription_id: int, period_start: date) -> str:
    """A periodic charge's idempotency key: the period first and the id zero-padded, so a
    day's run appends at the end of the key index instead of splitting pages all over."""
    return f"p:{period_start.isoformat()}:{subscription_id:012d}"


def month_bounds(day: date) -> tuple[date, date]:
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def day_start(day: date, timezone: str) -> datetime:
    """The instant a billing day starts, in UTC."""
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(ZoneInfo("UTC"))


def _insert(session: Session, source) -> int:
    columns = ["key", "contract_id", "account_id", "subscription_id", "service_id", "kind",
               "period_start", "period_end", "quantity", "amount", "batch", "created_at"]
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Charge).from_select(columns, source).on_conflict_do_nothing(
        index_elements=["key"])
    return session.execute(statement).rowcount


def _chargeable(day: date, starts: datetime, operator_id: int):
    """Conditions shared by every periodic kind: active, in its dates, not trashed, and not
    held by a block its tariff does not charge through."""
    holding = exists().where(
        Block.account_id == Account.id, Block.start_at <= starts,
        or_(Block.lifted_at.is_(None), Block.lifted_at > starts),
        or_(Block.end_at.is_(None), Block.end_at > starts),
        ~or_(*[and_(Block.source == source, flag) for source, flag in CHARGE_WHEN.items()]))
    return and_(Subscription.state == "active", Subscription.start_on <= day,
                or_(Subscription.end_on.is_(None), Subscription.end_on >= day),
                Account.trashed_at.is_(None), Contract.operator_id == operator_id,
                Service.price > 0, ~holding)


def _base_query(*columns):
    return (select(*columns).select_from(Subscription)
            .join(Service, Service.id == Subscription.service_id)
            .join(Account, Account.id == Subscription.account_id)
            .join(Contract, Contract.id == Account.contract_id)
            .join(Tariff, Tariff.id == Account.tariff_id))


def _charge_statements(session: Session, day: date, operator: Operator, batch: str):
    """(kind label, SELECT producing charge rows) for each kind of periodic charge."""
    starts = day_start(day, operator.timezone)
    at = now()
    first, last = month_bounds(day)
    days_in_month = (last - first).days + 1
    dialect = session.bind.dialect.name
    common = _chargeable(day, starts, operator.id)
    ids = padded(dialect, Subscription.id)

    daily = _base_query(
        literal(f"p:{day.isoformat()}:") + ids, Contract.id, Account.id,
        Subscription.id, Service.id, literal("periodic"), literal(day), literal(day),
        literal(Decimal(1)), Service.price, literal(batch), literal(at),
    ).where(common, Service.kind == "periodic", Service.method == "daily")

    period_end = case((and_(Subscription.end_on.is_not(None), Subscription.end_on < last),
                       Subscription.end_on), else_=literal(last))
    days = day_diff(dialect, period_end, literal(day)) + 1
    monthly = _base_query(
        literal(f"p:{first.isoformat()}:") + ids, Contract.id, Account.id,
        Subscription.id, Service.id, literal("periodic"), literal(day), period_end,
        days, func.round(Service.price * days / days_in_month, 2), literal(batch),
        literal(at),
    ).where(common, Service.kind == "periodic", Service.method == "monthly")

    once = _base_query(
        literal("o:") + ids, Contract.id, Account.id, Subscription.id, Service.id,
        literal("one_time"), literal(day), literal(day), literal(Decimal(1)), Service.price,
        literal(batch), literal(at),
    ).where(Subscription.state == "active", Subscription.start_on <= day,
            Account.trashed_at.is_(None), Contract.operator_id == operator.id,
            Service.kind == "one_time", Service.price > 0)
    return [("daily", daily), ("monthly", monthly), ("one_time", once)]


def charge_day(session: Session, day: date) -> dict[str, dict[str, Any]]:
    """Write the day's periodic and one-time charges and move the balances; returns
    {"daily"|"monthly"|"one_time": {"count", "amount"}} of what this call added."""
    added: dict[str, dict[str, Any]] = {}
    for operator in session.scalars(select(Operator).order_by(Operator.id)):
        batch = new_batch(f"day:{day.isoformat()}")
        for label, statement in _charge_statements(session, day, operator, batch):
            _insert(session, statement)
        monthly = Charge.key.like("p:%") & (Charge.period_start != Charge.period_end)
        totals = session.execute(
            select(case((Charge.kind == "one_time", "one_time"), (monthly, "monthly"),
                        else_="daily").label("label"), func.count(), func.sum(Charge.amount))
            .where(Charge.batch == batch).group_by("label"))
        for label, count, amount in totals:
            entry = added.setdefault(label, {"count": 0, "amount": Decimal("0")})
            entry["count"] += count
            entry["amount"] += Decimal(str(amount)).quantize(Decimal("0.01"))
        post_batch(session, batch)
    return added


def period_charge(subscription: Subscription, day: date) -> tuple[str, date, date, Decimal]:
    """The (key, first day, last day, amount) the run would charge this subscription for
    the period containing `day`; used to charge a purchase at once, with the run's key."""
    service = subscription.service
    if service.kind == "one_time":
        return f"o:{subscription.id:012d}", day, day, service.price
    if service.kind != "periodic":
        raise ValidationError("service_id", "a counter service is charged by its usage")
    if service.method == "daily":
        return charge_key(subscription.id, day), day, day, service.price
    first, last = month_bounds(day)
    end = min(last, subscription.end_on) if subscription.end_on else last
    days = (end - day).days + 1
    amount = round_money(service.price * days / ((last - first).days + 1))
    return charge_key(subscription.id, first), day, end, amount


def refund_unused(session: Session, subscription: Subscription) -> Decimal:
    """Refund the days after the subscription's end that were already charged."""
    if subscription.end_on is None:
        return Decimal("0")
    refunded = Decimal("0")
    charges = session.scalars(select(Charge).where(
        Charge.subscription_id == subscription.id, Charge.kind == "periodic",
        Charge.period_end > subscription.end_on))
    for charge in list(charges):
        length = (charge.period_end - charge.period_start).days + 1
        unused_from = max(charge.period_start, subscription.end_on + timedelta(days=1))
        unused = (charge.period_end - unused_from).days + 1
        amount = round_money(charge.amount * unused / length)
        if amount and add_charge(
                session, key=f"r:{charge.key}", contract_id=charge.contract_id,
                account_id=charge.account_id, subscription_id=subscription.id,
                service_id=charge.service_id, kind="refund", period_start=unused_from,
                period_end=charge.period_end, quantity=Decimal(unused), amount=-amount,
                comment=f"unused days of {charge.key}"):
            refunded += amount
    return refunded


class InsufficientFunds(ValidationError):
    """The contract cannot pay a purchase without going below −credit limit."""

    code = "insufficient_funds"
