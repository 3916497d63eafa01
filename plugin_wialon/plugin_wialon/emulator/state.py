"""Everything the emulated Wialon remembers, behind one lock.

The HTTP server is threaded (the billing's client runs up to 10 batches at
once), so sessions, the per-session request counter, the failed-login window
and the fault-injection switches are all mutated under ``EmulatorState._lock``.
Accounts are immutable records replaced as a whole, so readers never see a
half-updated one.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from ..errors import Code

# Wialon's per-IP limit on failed logins, counted over a sliding minute.
FAILED_LOGIN_WINDOW = 60.0


class ApiError(Exception):
    """A request that Wialon answers with ``{"error": code[, "reason": ...]}``."""

    def __init__(self, code: int, reason: str | None = None):
        super().__init__(code, reason)
        self.code = int(code)
        self.reason = reason

    def envelope(self) -> dict:
        body: dict = {"error": self.code}
        if self.reason:
            body["reason"] = self.reason
        return body


@dataclass(frozen=True)
class User:
    """The Wialon user a token logs in as; ``account_id`` is its ``bact``."""

    id: int
    name: str
    account_id: int


@dataclass(frozen=True)
class Account:
    """A billing account and how many units (``avl_unit`` items) belong to it.

    Units are not stored one by one: their ids are the ``units`` consecutive
    numbers from ``first_unit_id``, which keeps 50,000 seeded accounts cheap.
    """

    id: int
    name: str
    units: int
    first_unit_id: int


@dataclass
class Session:
    sid: str
    user: User
    last_seen: float
    in_flight: int = 0


@dataclass
class _AccountFault:
    code: int
    remaining: int | None  # None: fail every time


@dataclass
class _Faults:
    accounts: dict[int, _AccountFault] = field(default_factory=dict)
    logins: _AccountFault | None = None
    non_json_left: int = 0
    non_json_status: int = 502
    delay: float = 0.0


class EmulatorState:
    """Accounts, tokens, sessions, limits and injected faults of one emulator."""

    def __init__(
        self,
        tokens: dict[str, str],
        *,
        session_idle_timeout: float = 300.0,
        max_concurrent_requests: int = 10,
        failed_login_limit: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._lock = threading.Lock()
        self._clock = clock
        self.session_idle_timeout = session_idle_timeout
        self.max_concurrent_requests = max_concurrent_requests
        self.failed_login_limit = failed_login_limit
        self._users: dict[str, User] = {}
        self._tokens: dict[str, User] = {}
        for token, user_name in tokens.items():
            self.add_token(token, user_name)
        self._accounts: dict[int, Account] = {}
        self._next_unit_id = 100_000
        self._sessions: dict[str, Session] = {}
        self._killed: dict[str, int] = {}  # sid -> code answered from now on
        self._failed_logins: dict[str, deque[float]] = {}
        self._faults = _Faults()
        self.stats = {"requests": 0, "logins": 0, "failed_logins": 0, "busy_rejections": 0,
                      "bytes_sent": 0}

    # --- seed data -----------------------------------------------------------

    def add_token(self, token: str, user_name: str) -> None:
        """Let ``token`` log in as ``user_name`` (users get stable ids by name)."""
        with self._lock:
            user = self._users.get(user_name)
            if user is None:
                user_id = 10_000 + 2 * len(self._users)
                user = User(id=user_id, name=user_name, account_id=user_id + 1)
                self._users[user_name] = user
            self._tokens[token] = user

    def add_account(self, account_id: int, units: int = 6, name: str | None = None) -> Account:
        """Create (or replace) billing account ``account_id`` holding ``units`` units."""
        if units < 0:
            raise ValueError(f"units must be >= 0, got {units}")
        with self._lock:
            account = Account(
                id=int(account_id),
                name=name or f"Account {account_id}",
                units=units,
                first_unit_id=self._next_unit_id,
            )
            self._next_unit_id += units
            self._accounts[account.id] = account
            return account

    def account(self, account_id: int) -> Account | None:
        with self._lock:
            return self._accounts.get(account_id)

    # --- sessions ------------------------------------------------------------

    def login(self, token: str, ip: str) -> Session:
        """Open a session for ``token`` or raise the error Wialon would answer."""
        with self._lock:
            self.stats["requests"] += 1
            now = self._clock()
            failures = self._failed_logins.setdefault(ip, deque())
            while failures and now - failures[0] > FAILED_LOGIN_WINDOW:
                failures.popleft()
            if len(failures) >= self.failed_login_limit:
                raise ApiError(Code.ONE_REQUEST_AT_A_TIME, "LIMIT failed_logins")
            refused = self._faults.logins
            if refused is not None:
                if refused.remaining is not None:
                    refused.remaining -= 1
                    if refused.remaining <= 0:
                        self._faults.logins = None
                raise ApiError(refused.code, "LIMIT api_concurrent"
                               if refused.code == Code.ONE_REQUEST_AT_A_TIME else None)
            user = self._tokens.get(token)
            if user is None:
                failures.append(now)
                self.stats["failed_logins"] += 1
                raise ApiError(Code.BAD_CREDENTIALS)
            session = Session(sid=secrets.token_hex(16), user=user, last_seen=now)
            self._sessions[session.sid] = session
            self.stats["logins"] += 1
            return session

    def logout(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    @contextmanager
    def session_request(self, sid: str | None) -> Iterator[Session]:
        """Hold one of the session's request slots for the duration of a request.

        Raises the error Wialon answers for a dead, idle or unknown session, and
        1003 (``LIMIT api_concurrent``) when all slots of the session are taken.
        """
        with self._lock:
            self.stats["requests"] += 1
            session = self._live_session(sid)
            if session.in_flight >= self.max_concurrent_requests:
                self.stats["busy_rejections"] += 1
                raise ApiError(Code.ONE_REQUEST_AT_A_TIME, "LIMIT api_concurrent")
            session.in_flight += 1
            session.last_seen = self._clock()
        try:
            yield session
        finally:
            with self._lock:
                session.in_flight -= 1
                session.last_seen = self._clock()

    def _live_session(self, sid: str | None) -> Session:
        if sid in self._killed:
            raise ApiError(self._killed[sid])
        session = self._sessions.get(sid or "")
        if session is None:
            raise ApiError(Code.INVALID_SESSION)
        if session.in_flight == 0 and self._clock() - session.last_seen > self.session_idle_timeout:
            del self._sessions[session.sid]
            raise ApiError(Code.INVALID_SESSION)
        return session

    # --- fault injection -----------------------------------------------------

    def expire_sessions(self, code: int = Code.INVALID_SESSION) -> int:
        """End every open session; their next request is answered with ``code``.

        Use ``Code.SESSION_EXPIRED`` (1011) to play "IP changed or session
        expired" instead of the plain "invalid session" (1).  Returns how many
        sessions were ended.
        """
        with self._lock:
            for sid in self._sessions:
                self._killed[sid] = int(code)
            ended = len(self._sessions)
            self._sessions.clear()
            return ended

    def invalidate_token(self, token: str) -> None:
        """Revoke ``token``: logging in with it fails from now on (open sessions stay)."""
        with self._lock:
            self._tokens.pop(token, None)

    def fail_accounts(self, codes: dict[int, int], times: int | None = None) -> None:
        """Answer requests about these account ids with the given error codes.

        Applies to ``core/search_items`` and ``account/get_account_data``, alone
        or inside ``core/batch``.  ``times=None`` fails them for good; a number
        fails each that many times and then lets it through.
        """
        with self._lock:
            for account_id, code in codes.items():
                self._faults.accounts[int(account_id)] = _AccountFault(int(code), times)

    def fail_logins(self, code: int, times: int | None = None) -> None:
        """Answer logins with ``code`` (e.g. 1003 while Wialon limits them), ``times``
        times or (None) until reset; the token is not looked at."""
        with self._lock:
            self._faults.logins = _AccountFault(int(code), times)

    def count_sent(self, size: int) -> None:
        """Add an API reply's body size to ``stats["bytes_sent"]`` (what a count costs)."""
        with self._lock:
            self.stats["bytes_sent"] += size

    def take_account_fault(self, account_id: int) -> int | None:
        """The error code to answer for ``account_id`` now, if one is injected."""
        with self._lock:
            fault = self._faults.accounts.get(account_id)
            if fault is None:
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults.accounts[account_id]
            return fault.code

    def serve_non_json(self, count: int = 1, status: int = 502) -> None:
        """Answer the next ``count`` API requests with an HTML error page, like a broken proxy."""
        with self._lock:
            self._faults.non_json_left = count
            self._faults.non_json_status = status

    def take_non_json(self) -> int | None:
        """The HTTP status of the HTML page to serve now, or None for a normal reply."""
        with self._lock:
            if self._faults.non_json_left <= 0:
                return None
            self._faults.non_json_left -= 1
            return self._faults.non_json_status

    def set_delay(self, seconds: float) -> None:
        """Hold every API reply for ``seconds`` (inside the session's request slot)."""
        with self._lock:
            self._faults.delay = max(0.0, float(seconds))

    def pause(self) -> None:
        """Sleep for the injected reply delay, if any."""
        with self._lock:
            delay = self._faults.delay
        if delay:
            time.sleep(delay)

    def reset_faults(self) -> None:
        """Drop every injected fault (killed sessions stay dead)."""
        with self._lock:
            self._faults = _Faults()

    def snapshot(self) -> dict:
        """A JSON-ready summary for the ``/_emulator/state`` endpoint."""
        with self._lock:
            return {
                "accounts": len(self._accounts),
                "units": sum(a.units for a in self._accounts.values()),
                "tokens": len(self._tokens),
                "sessions": len(self._sessions),
                "session_idle_timeout": self.session_idle_timeout,
                "max_concurrent_requests": self.max_concurrent_requests,
                "faults": {
                    "accounts": {str(k): v.code for k, v in self._faults.accounts.items()},
                    "logins": self._faults.logins.code if self._faults.logins else None,
                    "non_json_left": self._faults.non_json_left,
                    "delay": self._faults.delay,
                },
                "stats": dict(self.stats),
            }
