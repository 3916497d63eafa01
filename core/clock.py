"""The one place the core reads the time, so tests and the demo can set it.

Times are timezone-aware UTC everywhere inside; dates of billing (a charged day, a month)
are dates in the operator's time zone, which the configuration names.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timezone, tzinfo
from zoneinfo import ZoneInfo

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, aware, in UTC (or the frozen time in tests)."""
    return _frozen if _frozen is not None else datetime.now(timezone.utc)


def today(tz: tzinfo | str = "UTC") -> date:
    """Today's date in the given time zone (the operator's, for billing days)."""
    if isinstance(tz, str):
        tz = ZoneInfo(tz)
    return now().astimezone(tz).date()


@contextmanager
def frozen(at: datetime):
    """Freeze `now()` at `at` (aware) for the duration of a block; tests use it."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    previous, _frozen = _frozen, at.astimezone(timezone.utc)
    try:
        yield
    finally:
        _frozen = previous


def aware(value: datetime) -> datetime:
    """Return `value` as aware UTC; a naive value is refused rather than guessed."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware value")
    return value.astimezone(timezone.utc)
