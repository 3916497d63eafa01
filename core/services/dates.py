"""Billing days are dates in the operator's time zone, and the window of days the
services take (config `[billing]`).

Every date a person or a plugin gives is checked here, in the service layer, so the CLI,
the admin and plugins all get the same refusal naming the field and the allowed range:
a charge run at most `charge_days_ahead` days after today (a run for 2999 would charge
and block everyone today); payments and usage not in the future and at most
`payment_days_back` / `usage_days_back` days back; tariff changes, dated blocks and
subscription starts at most `plan_days_ahead` days ahead. Replays of past billing days
(the demo, a catch-up) stay possible: a charge run has no lower bound.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import today
from core.errors import ValidationError
from core.models import Account, Operator
from core.runtime import runtime_of


def local_today(account: Account) -> date:
    """Today in the time zone of the operator the account's contract belongs to."""
    return today(account.contract.operator.timezone)


def operator_zone(session: Session) -> str:
    """The operator's time zone (the configured one before an operator exists)."""
    zone = session.scalar(select(Operator.timezone).order_by(Operator.id).limit(1))
    return zone or runtime_of(session).settings.timezone


def operator_today(session: Session) -> date:
    """Today in the operator's time zone: the day of usage that arrives without one."""
    return today(operator_zone(session))


def _days(session: Session, key: str) -> int:
    return runtime_of(session).settings.section("billing")[key]


def _check(day: date, first: date | None, last: date, field: str, key: str) -> date:
    if (first is None or first <= day) and day <= last:
        return day
    allowed = f"from {first} to {last}" if first is not None else f"up to {last}"
    raise ValidationError(field, f"{day} is outside the allowed dates ({allowed}; "
                                 f"[billing] {key})")


def charge_day(session: Session, day: date, field: str = "day") -> date:
    """A charge run's day: at most `charge_days_ahead` days after today."""
    key = "charge_days_ahead"
    return _check(day, None, operator_today(session) + timedelta(days=_days(session, key)),
                  field, key)


class PastWindow:
    """Days from `days_back` days ago up to today, read once for many checks (a usage
    run checks every record against it)."""

    def __init__(self, session: Session, key: str):
        self.key = key
        self.last = operator_today(session)
        self.first = self.last - timedelta(days=_days(session, key))

    def check(self, day: date, field: str) -> date:
        return _check(day, self.first, self.last, field, self.key)


def usage_window(session: Session) -> PastWindow:
    return PastWindow(session, "usage_days_back")


def payment_moment(session: Session, at: datetime, field: str = "received_at") -> datetime:
    """A payment's time: its day (in the operator's zone) in the payment window."""
    PastWindow(session, "payment_days_back").check(
        at.astimezone(ZoneInfo(operator_zone(session))).date(), field)
    return at


def planned_day(session: Session, day: date, field: str) -> date:
    """A day something is planned for: at most `plan_days_ahead` days after today."""
    key = "plan_days_ahead"
    return _check(day, None, operator_today(session) + timedelta(days=_days(session, key)),
                  field, key)


def planned_moment(session: Session, at: datetime, field: str) -> datetime:
    """`planned_day` for a date and time (a block's start or end)."""
    planned_day(session, at.astimezone(ZoneInfo(operator_zone(session))).date(), field)
    return at
