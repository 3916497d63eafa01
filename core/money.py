"""Money and quantities: `Decimal` in Python, `NUMERIC` in the database, never float.

Ledger amounts carry two decimal places (the currency's minor unit); prices per unit and
measured quantities carry six, and are rounded half-up to the cent when they become a
charge.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from core.errors import ValidationError

CENT = Decimal("0.01")
MONEY_DIGITS = 18  # precision of the NUMERIC columns
MONEY_PLACES = 2
RATE_PLACES = 6
_LIMIT = Decimal(10) ** (MONEY_DIGITS - RATE_PLACES)


def to_decimal(value, field: str, *, places: int = MONEY_PLACES, allow_negative: bool = False,
               allow_zero: bool = True) -> Decimal:
    """Parse `value` (Decimal, int or a decimal string) or raise ValidationError(field, …).

    Floats are refused on purpose: a float has already lost the cents it was meant to carry.
    """
    if isinstance(value, bool) or value is None:
        raise ValidationError(field, "a decimal number is required")
    if isinstance(value, float):
        raise ValidationError(field, "give a decimal string such as '12.50', not a float")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValidationError(field, "a decimal number is required")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValidationError(field, f"{text[:40]!r} is not a decimal number") from None
    elif isinstance(value, int):
        value = Decimal(value)
    elif not isinstance(value, Decimal):
        raise ValidationError(field, f"a decimal number is required, not {type(value).__name__}")
    if not value.is_finite():
        raise ValidationError(field, "must be a finite number")
    if abs(value) >= _LIMIT:
        raise ValidationError(field, f"must be less than {_LIMIT:,} in absolute value")
    if value.as_tuple().exponent < -places and value != value.quantize(Decimal(1).scaleb(-places)):
        raise ValidationError(field, f"at most {places} decimal places")
    if value < 0 and not allow_negative:
        raise ValidationError(field, "must not be negative")
    if value == 0 and not allow_zero:
        raise ValidationError(field, "must not be zero")
    return value.quantize(Decimal(1).scaleb(-places))


def money(value, field: str = "amount", **kw) -> Decimal:
    """A ledger amount with two decimal places (see `to_decimal`)."""
    return to_decimal(value, field, places=MONEY_PLACES, **kw)


def round_money(value: Decimal) -> Decimal:
    """Round a computed amount (price × quantity, a prorated month) half-up to the cent."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
