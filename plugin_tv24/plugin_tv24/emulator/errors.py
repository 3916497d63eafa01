"""The platform's error envelope.

The spec documents no error responses; the platform answers errors as
``{"error": {"message": ...}, "status_code": N}`` plus, for invalid input, a DRF-style
``"detail": {"field": ["message", ...]}``. Every refusal of the emulator goes through
:class:`ApiError` so that they all look the same.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A refusal with an HTTP ``status``; ``message`` defaults to a summary of ``detail``."""

    def __init__(self, status: int, message: str | None = None, detail: dict[str, list[str]] | None = None):
        if message is None:
            message = "; ".join(f"{field}: {' '.join(texts)}" for field, texts in (detail or {}).items())
        super().__init__(message)
        self.status = status
        self.message = message or "Invalid input."
        self.detail = detail

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": {"message": self.message}, "status_code": self.status}
        if self.detail:
            body["detail"] = self.detail
        return body


def field_error(field: str, message: str, status: int = 400) -> ApiError:
    """A refusal blaming one field, e.g. ``field_error("phone", "User with this phone already exists.")``."""
    return ApiError(status, detail={field: [message]})


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found.")
