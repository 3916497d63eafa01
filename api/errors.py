"""Every refusal of the API is JSON: `{"errors": [{"field": ..., "message": ...}]}`.

`field` names the input that was wrong (dotted for nested input, as core's
ValidationError does) or is null when the whole request was refused (no key, no
permission, no such record). A bad body is 422, exactly as the admin's forms refuse it,
because the same service functions check it.
"""
from __future__ import annotations

import logging
from typing import Any, Iterator

from flask import jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

from core.errors import ValidationError

log = logging.getLogger("abonent.api")


def answer(status: int, message: str, field: str | None = None, headers: dict | None = None):
    return jsonify(errors=[{"field": field, "message": message}]), status, headers or {}


def _flatten(messages: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """webargs' {"json": {"name": ["Missing data…"], "phones": {"0": […]}}} as
    ("name", "Missing data…"), ("phones.0", …): the location is not part of a field."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, f"{path}.{key}" if path else str(key))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        for message in messages:
            yield path, message
    else:
        for i, message in enumerate(messages):
            yield from _flatten(message, f"{path}.{i}")


def _field(path: str) -> str | None:
    """"json.phones.0" → "phones.0"; the body or query as a whole ("json",
    "json._schema": not an object) → None."""
    field = path.split(".", 1)[1] if "." in path else None
    return None if field in (None, "_schema") else field


def http_error(exc: HTTPException):
    data = getattr(exc, "data", None) or {}
    if "messages" in data:  # webargs refused the query or the body
        fields = [{"field": _field(name), "message": text}
                  for name, text in _flatten(data["messages"])]
        return jsonify(errors=fields), 422
    if isinstance(exc, InternalServerError):
        log.error("API error: %r", exc.original_exception, exc_info=exc.original_exception)
        return answer(500, "internal error; nothing was saved")
    headers = {name: value for name, value in exc.get_headers() if name != "Content-Type"}
    return answer(exc.code or 500, exc.description or exc.name, headers=headers)


def validation_error(exc: ValidationError):
    return answer(422, exc.reason, exc.field)
