"""The operator's input to the SMS functions, checked before anything is sent: a bad MAC,
date, PIN or priority is a `ValidationError` naming the field, and nothing is written."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from core import ValidationError

MAC_DIGITS = re.compile(r"[0-9A-Fa-f]{12}")
WHEN = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?")
#: msg_prio: how the subscriber confirms reading a message
READ_CONFIRMATION = {0: "with the PIN", 1: "on click, in the TV panel", 2: "when the teaser is shown"}


def mac(value: str, field: str = "mac") -> str:
    """A MAC as the SMS stores it (`XX:XX:XX:XX:XX:XX`): lowercase, and without colons
    (or with dashes or dots), are accepted and normalised."""
    digits = re.sub(r"[:\-. ]", "", str(value or "").strip())
    if not MAC_DIGITS.fullmatch(digits):
        raise ValidationError(field, f"{value!r} is not a MAC address (12 hex digits, e.g. "
                                     f"00:1A:2B:3C:4D:5E)")
    digits = digits.upper()
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def day(value: str | date, field: str) -> date:
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(field, f"{value!r} is not a date YYYY-MM-DD") from None


def when(value: str, field: str) -> str:
    """A message's date, `YYYY-MM-DD` or `YYYY-MM-DD HH:MM`, as the SMS takes it."""
    text = str(value or "").strip()
    try:
        if not WHEN.fullmatch(text):
            raise ValueError
        datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(field, f"{value!r} is not a date YYYY-MM-DD or "
                                     f"YYYY-MM-DD HH:MM") from None
    return text


def period(start: str, end: str, field: str) -> tuple[str, str]:
    """(start, end) checked: both dates, the end after the start."""
    first, last = when(start, f"{field}_from"), when(end, f"{field}_to")
    if datetime.fromisoformat(last) <= datetime.fromisoformat(first):
        raise ValidationError(f"{field}_to", f"must be after {field}_from ({first})")
    return first, last


def pin(value: str, field: str) -> str:
    text = str(value or "").strip()
    if not re.fullmatch(r"\d{4}", text):
        raise ValidationError(field, "must be 4 digits")
    return text


def read_confirmation(value: int, field: str = "confirm") -> int:
    if value not in READ_CONFIRMATION:
        choices = ", ".join(f"{k} ({v})" for k, v in READ_CONFIRMATION.items())
        raise ValidationError(field, f"must be one of {choices}")
    return value


def text(value: str, field: str, max_len: int = 1000) -> str:
    cleaned = str(value or "").strip()
    if not cleaned:
        raise ValidationError(field, "is required")
    if len(cleaned) > max_len:
        raise ValidationError(field, f"must be at most {max_len} characters")
    return cleaned


def money(value: str, field: str) -> str:
    """A fee as the SMS takes it ("150.00"), or "" for none."""
    cleaned = str(value or "").strip().replace(",", ".")
    if not cleaned:
        return ""
    try:
        amount = Decimal(cleaned)
        if not amount.is_finite() or amount < 0 or amount > Decimal("1000000"):
            raise InvalidOperation
    except InvalidOperation:
        raise ValidationError(field, f"{value!r} is not an amount (e.g. 150.00)") from None
    return f"{amount.quantize(Decimal('0.01'))}"
