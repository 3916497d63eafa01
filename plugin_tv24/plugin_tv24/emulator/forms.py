"""Checking what callers send, the way the platform (a Django REST framework service) does.

Each function turns raw JSON or query values into clean Python values, or raises
:class:`~plugin_tv24.emulator.errors.ApiError` (400) whose ``detail`` names every bad
field with DRF's wording, so that the billing meets the same refusals it would meet in
production. Unknown fields are ignored, as DRF does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .errors import ApiError, field_error

REQUIRED = "This field is required."
MAX_LIMIT = 100
DEFAULT_LIMIT = 20  # the spec gives none; a small one makes clients that do not page fail visibly

_PHONE = re.compile(r"^\+?\d{10,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _Invalid(Exception):
    """One field's value is wrong; the message is DRF's."""


def _text(max_length: int, *, blank: bool = True, pattern: re.Pattern | None = None, pattern_message: str = ""):
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise _Invalid("Not a valid string.")
        if not value.strip() and not blank:
            raise _Invalid("This field may not be blank.")
        if len(value) > max_length:
            raise _Invalid(f"Ensure this field has no more than {max_length} characters.")
        if value and pattern is not None and not pattern.match(value):
            raise _Invalid(pattern_message)
        return value

    return check


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("Must be a valid boolean.")
    return value


def _integer(minimum: int | None = None, maximum: int | None = None):
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid("A valid integer is required.")
        if minimum is not None and value < minimum:
            raise _Invalid(f"Ensure this value is greater than or equal to {minimum}.")
        if maximum is not None and value > maximum:
            raise _Invalid(f"Ensure this value is less than or equal to {maximum}.")
        return value

    return check


def _datetime(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _Invalid(
            "Datetime has wrong format. Use one of these formats instead: "
            "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0)


# BaseUser's writable fields, with the limits the spec gives them.
USER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "username": _text(40, blank=False),
    "phone": _text(32, blank=False, pattern=_PHONE, pattern_message="Enter a valid phone number."),
    "first_name": _text(64),
    "last_name": _text(64),
    "provider_uid": _text(255),
    "email": _text(254, blank=False, pattern=_EMAIL, pattern_message="Enter a valid email address."),
    "is_active": _boolean,
    "device_limit": _integer(0, 100),
}
USER_REQUIRED = ("username", "phone")

SUBSCRIPTION_FIELDS: dict[str, Callable[[Any], Any]] = {
    "packet_id": _integer(),
    "renew": _boolean,
    "start_at": _datetime,
    "end_at": _datetime,
}


@dataclass(frozen=True)
class NewSubscription:
    """One item of a subscribe request; missing dates are filled in by the state."""

    packet_id: int
    renew: bool = True
    start_at: datetime | None = None
    end_at: datetime | None = None


def _expect_object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        kind = "NoneType" if body is None else type(body).__name__
        raise ApiError(400, detail={"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]})
    return body


def _clean(body: Any, fields: Mapping[str, Callable[[Any], Any]], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check ``body``'s known fields; every problem is collected before refusing."""
    data = _expect_object(body)
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, check in fields.items():
        if name not in data:
            if name in required:
                errors[name] = [REQUIRED]
            continue
        try:
            clean[name] = check(data[name])
        except _Invalid as exc:
            errors[name] = [str(exc)]
    if errors:
        raise ApiError(400, detail=errors)
    return clean


def user_fields(body: Any, *, partial: bool = False) -> dict[str, Any]:
    """The fields of a ``POST`` (all required ones present) or ``PATCH`` (``partial``) of a user."""
    return _clean(body, USER_FIELDS, () if partial else USER_REQUIRED)


def new_subscriptions(body: Any) -> list[NewSubscription]:
    """The items of ``POST /v2/users/{id}/subscriptions``: a non-empty JSON array."""
    if not isinstance(body, list):
        kind = "NoneType" if body is None else type(body).__name__
        raise ApiError(400, detail={"non_field_errors": [f'Expected a list of items but got type "{kind}".']})
    if not body:
        raise ApiError(400, detail={"non_field_errors": ["This list may not be empty."]})
    return [NewSubscription(**_clean(item, SUBSCRIPTION_FIELDS, ("packet_id",))) for item in body]


def renew_flag(body: Any) -> bool | None:
    """``renew`` of a subscription ``PATCH`` (``None`` when absent: nothing to change)."""
    return _clean(body, {"renew": _boolean}).get("renew")


def page(args: Mapping[str, str]) -> tuple[int, int]:
    """``limit`` (1..100) and ``offset`` (>= 0) of a list request."""
    limit = _query_integer(args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _query_integer(args, "offset", 0, 0, None)
    return limit, offset


def _query_integer(args: Mapping[str, str], name: str, default: int, minimum: int, maximum: int | None) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?\d+", raw):
        raise field_error(name, "A valid integer is required.")
    try:
        return _integer(minimum, maximum)(int(raw))
    except _Invalid as exc:
        raise field_error(name, str(exc)) from None


def subscription_kinds(args: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    """The one kind in query parameter ``name`` (``types``, ``subscriptions``), already
    checked against the values the document lists (:mod:`.strict`)."""
    raw = args.get(name)
    return None if raw is None else (raw,)


def subscription_window(args: Mapping[str, str]) -> tuple[datetime, datetime]:
    """``date_from`` .. ``date_to`` of ``subscriptions=period`` (an open end when absent)."""
    start, end = args.get("date_from"), args.get("date_to")
    return (_datetime(start) if start else datetime.min.replace(tzinfo=timezone.utc),
            _datetime(end) if end else datetime.max.replace(tzinfo=timezone.utc))


def includes(args: Mapping[str, str]) -> set[str]:
    """The ``includes`` of ``GET /v2/packets`` (comma-separated; unknown ones are ignored)."""
    return {item.strip() for item in args.get("includes", "").split(",") if item.strip()}
