"""Wialon Remote API error codes and what they mean.

One table shared by the billing's client (to turn a code into a reason an
operator can act on) and by the emulator (to answer with the same codes the
real service uses), so the two can never drift apart.

Source: the Remote API "errors" page (help.wialon.com / sdk.wialon.com).  The
official python-wialon 1.2.4 client knows only a subset of these (it lacks 10
and 1011, among others), which is why we keep our own table.
"""

from enum import IntEnum


class Code(IntEnum):
    """Error codes the Remote API answers with in ``{"error": <code>}``."""

    INVALID_SESSION = 1
    INVALID_SERVICE = 2
    INVALID_RESULT = 3
    INVALID_INPUT = 4
    REQUEST_FAILED = 5
    UNKNOWN_ERROR = 6
    ACCESS_DENIED = 7
    BAD_CREDENTIALS = 8
    AUTH_SERVER_UNAVAILABLE = 9
    CONCURRENT_LIMIT = 10
    PASSWORD_RESET_ERROR = 11
    BILLING_ERROR = 14
    NO_MESSAGES = 1001
    ITEM_EXISTS = 1002
    ONE_REQUEST_AT_A_TIME = 1003
    MESSAGES_LIMIT = 1004
    EXECUTION_TIME_LIMIT = 1005
    TWO_FACTOR_LIMIT = 1006
    SESSION_EXPIRED = 1011


MEANINGS: dict[int, str] = {
    Code.INVALID_SESSION: "Invalid session",
    Code.INVALID_SERVICE: "Invalid service name",
    Code.INVALID_RESULT: "Invalid result",
    Code.INVALID_INPUT: "Invalid input",
    Code.REQUEST_FAILED: "Error performing request",
    Code.UNKNOWN_ERROR: "Unknown error",
    Code.ACCESS_DENIED: "Access denied (no such item or no rights to it)",
    Code.BAD_CREDENTIALS: "Invalid user name or password (bad token)",
    Code.AUTH_SERVER_UNAVAILABLE: "Authorization server is unavailable",
    Code.CONCURRENT_LIMIT: "Reached limit of concurrent requests",
    Code.PASSWORD_RESET_ERROR: "Password reset error",
    Code.BILLING_ERROR: "Billing error",
    Code.NO_MESSAGES: "No messages for selected interval",
    Code.ITEM_EXISTS: "Item with such unique property already exists",
    Code.ONE_REQUEST_AT_A_TIME: "Only one request is allowed at the moment (limit exceeded)",
    Code.MESSAGES_LIMIT: "Limit of messages has been exceeded",
    Code.EXECUTION_TIME_LIMIT: "Execution time has exceeded the limit",
    Code.TWO_FACTOR_LIMIT: "Too many attempts to enter a two-factor code",
    Code.SESSION_EXPIRED: "Your IP has changed or session has expired",
}

# The session is gone: log in again and retry (once).
RELOGIN_CODES = frozenset({Code.INVALID_SESSION, Code.SESSION_EXPIRED})
# Wialon is pushing back on load: wait a little and retry.
BACKOFF_CODES = frozenset({Code.CONCURRENT_LIMIT, Code.ONE_REQUEST_AT_A_TIME})


def describe(code: int, server_reason: str | None = None) -> str:
    """Human-readable reason for ``code``, with Wialon's own ``reason`` if it sent one."""
    text = MEANINGS.get(code, "Unrecognised Wialon error")
    if server_reason:
        text = f"{text}: {server_reason}"
    return f"{text} (Wialon error {code})"
