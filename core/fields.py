"""Declared fields: one small schema language for agent settings, account extra fields and
configuration sections.

A plugin declares what it needs as a list of `Field`s; the core validates input against
them (raising `ValidationError` naming the field) and the admin renders forms from the
same declaration, so the rule lives in one place.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Any, Callable, Iterable
from urllib.parse import urlparse

from core.errors import ValidationError
from core.money import to_decimal

TYPES = ("str", "int", "decimal", "bool", "url", "time", "list", "dict")


@dataclass(frozen=True)
class Field:
    """One declared input.

    `type` is one of TYPES; `secret` values are masked wherever they are shown;
    `pattern` is a full-match regular expression for strings; `check` receives the
    converted value and raises ValueError(reason) to refuse it.
    """

    name: str
    type: str = "str"
    required: bool = False
    default: Any = None
    label: str = ""
    help: str = ""
    secret: bool = False
    choices: tuple = ()
    min: Any = None
    max: Any = None
    pattern: str | None = None
    check: Callable[[Any], None] | None = None

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"field {self.name}: unknown type {self.type!r}; one of {TYPES}")

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def clean(self, raw: Any, prefix: str = "") -> Any:
        """Convert and check one raw value (from JSON, a form, TOML or an environment variable)."""
        path = f"{prefix}{self.name}"
        if raw is None or (isinstance(raw, str) and raw.strip() == "" and self.type != "str"):
            if self.required:
                raise ValidationError(path, "is required")
            return None if self.default is None else _CONVERTERS[self.type](self.default, path)
        value = _CONVERTERS[self.type](raw, path)
        if self.type == "str" and value == "" and self.required:
            raise ValidationError(path, "is required")
        if self.choices and value not in self.choices:
            raise ValidationError(path, f"must be one of {', '.join(map(str, self.choices))}")
        if self.min is not None and value < self.min:
            raise ValidationError(path, f"must be at least {self.min}")
        if self.max is not None and value > self.max:
            raise ValidationError(path, f"must be at most {self.max}")
        if self.pattern and value and not re.fullmatch(self.pattern, value):
            raise ValidationError(path, f"does not match the expected form {self.pattern}")
        if self.check is not None and value not in (None, ""):
            try:
                self.check(value)
            except ValueError as exc:
                raise ValidationError(path, str(exc)) from None
        return value


def clean_fields(fields: Iterable[Field], data: dict | None, *, prefix: str = "",
                 allow_unknown: bool = False) -> dict[str, Any]:
    """Validate `data` against `fields`; returns the cleaned dict (defaults filled in).

    Unknown keys are refused unless `allow_unknown`, so a misspelled setting is an error,
    not a silently ignored line. The first problem is raised (`field_problems` has all).
    """
    values, problems = field_problems(fields, data, prefix=prefix, allow_unknown=allow_unknown)
    if problems:
        raise problems[0]
    return values


def field_problems(fields: Iterable[Field], data: dict | None, *, prefix: str = "",
                   allow_unknown: bool = False) -> tuple[dict[str, Any], list[ValidationError]]:
    """`clean_fields` that does not stop at the first problem: the values that are fine,
    and a `ValidationError` for every key that is not (a configuration section reports
    every bad key at once instead of one per start)."""
    data = dict(data or {})
    fields = list(fields)
    problems: list[ValidationError] = []
    if not allow_unknown:
        known = {f.name for f in fields}
        hint = f"; known: {', '.join(sorted(known))}" if known else ""
        problems += [ValidationError(f"{prefix}{key}", f"unknown field{hint}")
                     for key in data if key not in known]
    values: dict[str, Any] = {}
    for f in fields:
        try:
            values[f.name] = f.clean(data.get(f.name), prefix)
        except ValidationError as exc:
            problems.append(exc)
    return values, problems


def mask_secrets(fields: Iterable[Field], values: dict) -> dict:
    """A copy of `values` fit to show: secret fields replaced by a fixed mask."""
    secret = {f.name for f in fields if f.secret}
    return {k: ("••••••" if k in secret and v else v) for k, v in values.items()}


def _str(raw, path):
    if isinstance(raw, (dict, list, bool)):
        raise ValidationError(path, "must be text")
    return str(raw).strip()


def _int(raw, path):
    if isinstance(raw, bool):
        raise ValidationError(path, "must be a whole number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\s*[-+]?\d+\s*", raw):
        return int(raw)
    raise ValidationError(path, f"must be a whole number, not {str(raw)[:40]!r}")


def _decimal(raw, path) -> Decimal:
    # TOML and JSON write 0.5 as a float; its shortest repr is what the person typed
    if isinstance(raw, float):
        raw = repr(raw)
    return to_decimal(raw, path, places=6, allow_negative=True)


def _bool(raw, path):
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValidationError(path, f"must be true or false, not {str(raw)[:40]!r}")


def _url(raw, path):
    text = _str(raw, path)
    parts = urlparse(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(path, f"must be an http(s) URL, not {text[:60]!r}")
    return text.rstrip("/")


def _time(raw, path):
    if isinstance(raw, time):
        return raw
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::00)?\s*", str(raw))
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValidationError(path, f"must be a time of day HH:MM, not {str(raw)[:40]!r}")
    return time(int(match[1]), int(match[2]))


def _list(raw, path):
    if isinstance(raw, str):
        return [item.strip() for item in raw.split(",") if item.strip()]
    if isinstance(raw, (list, tuple)):
        return list(raw)
    raise ValidationError(path, "must be a list")


def _dict(raw, path):
    if not isinstance(raw, dict):
        raise ValidationError(path, "must be a mapping")
    return dict(raw)


_CONVERTERS = {"str": _str, "int": _int, "decimal": _decimal, "bool": _bool, "url": _url,
               "time": _time, "list": _list, "dict": _dict}
