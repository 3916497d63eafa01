"""Checks of raw input shared by the service functions; each raises ValidationError(field, …)."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Iterable, TypeVar

from sqlalchemy.orm import Session

from core.errors import NotFound, ValidationError

T = TypeVar("T")


def only(data: dict[str, Any], allowed: Iterable[str]) -> None:
    """Refuse keys outside `allowed`, so a misspelled field is an error, not ignored."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError(unknown[0], f"unknown field; known: {', '.join(allowed)}")


#: the largest number an INTEGER column holds (PostgreSQL's is 32-bit)
MAX_INTEGER = 2**31 - 1
#: the largest key of any table (BIGINT): a bigger number overflows the database driver
#: (SQLite's) even in a comparison, so it is refused before a query is made
MAX_KEY = 2**63 - 1
#: the most items a repeated field may have unless its caller says otherwise
MAX_ITEMS = 20


def integer(value: Any, field: str, *, low: int = 0, high: int = MAX_INTEGER) -> int:
    """A whole number from `low` to `high` (an int or its digits as text)."""
    if isinstance(value, bool) or value is None:
        raise ValidationError(field, "a whole number is required")
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        # more digits than any bound has are out of range (and int() of thousands of
        # digits is refused by Python itself)
        value = int(value) if len(value.strip()) <= 30 else high + 1
    if not isinstance(value, int):
        raise ValidationError(field, f"must be a whole number, not {str(value)[:40]!r}")
    if not low <= value <= high:
        raise ValidationError(field, f"must be from {low} to {high}")
    return value


def items(values: Any, field: str, *, most: int = MAX_ITEMS) -> list[Any]:
    """A repeated field as a list (one value alone is a list of one), at most `most` long."""
    if values is None:
        return []
    if isinstance(values, (str, dict)):
        return [values]
    if not isinstance(values, (list, tuple)):
        raise ValidationError(field, f"must be a list, not {type(values).__name__}")
    if len(values) > most:
        raise ValidationError(field, f"at most {most} are allowed, not {len(values)}")
    return list(values)


def fetch(session: Session, model: type[T], value: Any, field: str, *, lock: bool = False) -> T:
    """The row of `model` with id `value`, or NotFound naming `field`."""
    key = integer(value, field, high=MAX_KEY)
    obj = session.get(model, key, with_for_update=lock or None)
    if obj is None:
        raise NotFound(field, f"no {model.__tablename__} with id {key}")
    return obj


def text(value: Any, field: str, *, required: bool = True, max_len: int = 200,
         pattern: str | None = None, what: str = "") -> str | None:
    """Stripped text; None when empty and not required."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(field, "is required")
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValidationError(field, f"must be text, not {type(value).__name__}")
    value = str(value).strip()
    if len(value) > max_len:
        raise ValidationError(field, f"is longer than {max_len} characters")
    if pattern and not re.fullmatch(pattern, value):
        raise ValidationError(field, what or f"does not match {pattern}")
    return value


def phone(value: Any, field: str) -> str:
    """A phone as digits only ("+7 (900) 123-45-67" → "79001234567")."""
    raw = text(value, field, max_len=40)
    if not re.fullmatch(r"[\d\s()+\-.]+", raw):
        raise ValidationError(field, f"{raw!r} is not a phone number")
    digits = re.sub(r"\D", "", raw)
    if not 5 <= len(digits) <= 15:
        raise ValidationError(field, f"{raw!r} must have 5 to 15 digits")
    return digits


def day(value: Any, field: str, *, required: bool = True) -> date | None:
    """A calendar day from a date or an ISO string (YYYY-MM-DD)."""
    if value is None or value == "":
        if required:
            raise ValidationError(field, "a date is required")
        return None
    if isinstance(value, datetime):
        raise ValidationError(field, "give a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(field, f"{str(value)[:40]!r} is not a date (YYYY-MM-DD)")


def moment(value: Any, field: str, *, required: bool = True) -> datetime | None:
    """An aware datetime from a datetime or an ISO string with an offset."""
    if value is None or value == "":
        if required:
            raise ValidationError(field, "a date and time is required")
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(field, f"{value[:40]!r} is not an ISO date and time") from None
    if not isinstance(value, datetime):
        raise ValidationError(field, "a date and time is required")
    if value.tzinfo is None:
        raise ValidationError(field, "give a time zone (e.g. +03:00 or Z)")
    return value


def boolean(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValidationError(field, "must be true or false")
