"""The errors the core raises and the one a plugin may raise to ask for a later delivery.

Every refusal of bad input is a `ValidationError` naming the field and the reason, so a
CLI, the admin or a plugin's callback can show it as it is; the subclasses only let a
caller tell "not found" and "already exists" apart without parsing text.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Iterable


class AbonentError(Exception):
    """Base of every error the core raises on purpose."""


class ValidationError(AbonentError):
    """Input refused: `field` names what was wrong (dotted for nested input), `reason` says why."""

    code = "invalid"

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason, "code": self.code}


class NotFound(ValidationError):
    """A referenced object does not exist (unknown tariff, contract, account…)."""

    code = "not_found"


class Duplicate(ValidationError):
    """The input would create a second copy of something unique (login, external id…)."""

    code = "duplicate"


class ConfigError(AbonentError):
    """The configuration (file, environment or a plugin's section) is wrong; names the key.

    `problems` holds every (key, reason) found, one line each in the message; `key` and
    `reason` are the first."""

    def __init__(self, key: str, reason: str, more: Iterable[tuple[str, str]] = ()):
        self.problems = [(key, reason), *more]
        super().__init__("\n".join(f"configuration {k}: {r}" for k, r in self.problems))
        self.key = key
        self.reason = reason

    @classmethod
    def of(cls, problems: Iterable[ValidationError]) -> "ConfigError":
        """One error for every refused field (at least one)."""
        found = [(p.field, p.reason) for p in problems]
        return cls(*found[0], more=found[1:])


class PluginError(AbonentError):
    """A plugin cannot be loaded: misspelled hook, bad registration, clashing agent type."""


class RetryLater(Exception):
    """Raised by a plugin's notification hook when the platform is down (unreachable, a
    timeout, a 5xx or 429 answer): "try again later".

    The delivery is put back without counting as a failed attempt; `after` (a timedelta or
    seconds) says when to try again, the outbox's back-off is used when it is None. Once
    the event is older than `outbox.retry_later_max_seconds` the delivery is dead. The one
    rule: docs/hooks.md, "Outcomes of a delivery".
    """

    def __init__(self, reason: str = "retry later", after: timedelta | float | None = None):
        super().__init__(reason)
        self.reason = reason
        if isinstance(after, (int, float)):
            after = timedelta(seconds=after)
        self.after = after


class Rejected(Exception):
    """Raised by a plugin's notification hook: "the platform refused this for good"
    (an HTTP 4xx with a reason). Retrying cannot help, so the delivery is dead-lettered
    at once with `reason`, shown in the outbox for a person to act on (docs/hooks.md,
    "Outcomes of a delivery")."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
