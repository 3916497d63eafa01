"""One billing event as SGT sends it, checked and turned into a row of
`jambox_billing_event` (plugin_jambox.billing_models).

An event SGT sent that cannot be read (no id, a date that is no date, a price that is no
amount, a VAT that is no fraction) is refused with `EventError` naming the event and the
field: the import then keeps nothing of its window (a malformed reply), and the operator
reads which event of which day to take up with SGT.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

DESCRIPTION_MAX = 300
_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DIGITS = re.compile(r"-?\d{1,18}")


class EventError(ValueError):
    """An event of SGT's answer that cannot be taken: `sms_id` (if known), `field`."""

    def __init__(self, sms_id: Any, field: str, reason: str):
        super().__init__(f"event {sms_id if sms_id is not None else '?'}: {field}: {reason}")
        self.sms_id = sms_id
        self.field = field


def _text(event: dict, key: str, sms_id: Any, max_len: int, required: bool = True) -> str | None:
    value = (event.get(key) or "").strip()
    if not value:
        if required:
            raise EventError(sms_id, key, "is missing")
        return None
    if len(value) > max_len:
        raise EventError(sms_id, key, f"is longer than {max_len} characters")
    return value


def _integer(event: dict, key: str, sms_id: Any, required: bool = False) -> int | None:
    value = (event.get(key) or "").strip()
    if not value:
        if required:
            raise EventError(sms_id, key, "is missing")
        return None
    if not _DIGITS.fullmatch(value):
        raise EventError(sms_id, key, f"{value!r} is not a whole number")
    return int(value)


def _amount(event: dict, key: str, sms_id: Any, places: int, required: bool = True
            ) -> Decimal | None:
    """A number SGT sent (a double or a string, read from its text, never through a
    float), with at most `places` decimal places once trailing zeros are dropped."""
    value = (event.get(key) or "").strip().replace(",", ".")
    if not value:
        if required:
            raise EventError(sms_id, key, "is missing")
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise EventError(sms_id, key, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise EventError(sms_id, key, f"{value!r} is not a number")
    exact = number.quantize(Decimal(1).scaleb(-places))
    if exact != number or abs(exact) >= Decimal(10) ** 15:
        raise EventError(sms_id, key, f"{value!r} is not an amount with {places} decimal places")
    return exact


def _day(event: dict, key: str, sms_id: Any) -> date:
    value = (event.get(key) or "").strip()
    match = _DAY.match(value)
    try:
        if not match or value[10:].strip(" 0:T") != "":
            raise ValueError
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise EventError(sms_id, key, f"{value!r} is not a day (YYYY-MM-DD)") from None


def event_id(event: dict[str, str | None]) -> int:
    """The SMS id of an event (member texts, as the stream reads them): all an import
    needs of an event it already has."""
    sms_id = _integer(event, "id", None, required=True)
    if sms_id <= 0:
        raise EventError(sms_id, "id", "is not a positive number")
    return sms_id


def parse_event(event: dict[str, str | None]) -> dict[str, Any]:
    """The row of one event of `billingEventsGet` (member texts, as the stream reads
    them); `EventError` when SGT's event cannot be taken."""
    sms_id = event_id(event)
    vat = _amount(event, "be_vat", sms_id, 4)
    if not Decimal(0) <= vat < Decimal(1):
        raise EventError(sms_id, "be_vat", f"{vat} is not a VAT fraction (0 <= VAT < 1)")
    description = _text(event, "be_desc", sms_id, 10_000)
    if len(description) > DESCRIPTION_MAX:
        description = description[:DESCRIPTION_MAX - 1] + "…"
    return {
        "sms_id": sms_id,
        "cust_number": _text(event, "cust_number", sms_id, 20),
        "cust_external_id": _text(event, "cust_external_id", sms_id, 40, required=False),
        "account_id": _text(event, "account_id", sms_id, 20),
        "selling_date": _day(event, "be_selling_date", sms_id),
        "description": description,
        "vat": vat,
        "gross": _amount(event, "be_gross", sms_id, 2),
        "b2b_net": _amount(event, "be_b2b_netto", sms_id, 2, required=False),
        "report_id": _integer(event, "group_id", sms_id),
        "package_id": _integer(event, "package_id", sms_id),
    }
