"""The billing's client for the Wialon Remote API: how many units each account has.

Why not the official python-wialon client: it turns any error inside a
``core/batch`` reply into one exception for the whole batch (losing the other
results) and raises ``KeyError`` for codes it does not know (10, 1011).  A
daily counting run over thousands of accounts must instead count everything it
can and say, per account, why the rest could not be counted.

How a run goes:

* ids are grouped into ``core/batch`` calls of ``batch_size`` sub-requests,
  run by at most ``max_concurrency`` threads (Wialon allows 10 requests at
  once per session) over one pooled ``requests.Session``;
* 1 / 1011 (session invalid or expired): log in again, retry those ids once;
* 10 / 1003 (too many requests): back off (exponential, full jitter, bounded)
  and retry, at login as on every other call;
* a unit search cannot tell an account Wialon does not know from an empty one
  (both find no units), so every account found empty is looked up once more
  (``account/get_account_data``, the smallest ``type``): Wialon answers 7 for
  one it does not know, and that account fails with ``error_code`` 7;
* any other error, a non-JSON reply, an HTTP error or no answer at all: the
  ids concerned get ``count=None`` and a reason in plain words; the run goes on;
* a run that cannot even log in stops at once, with ``WialonAuthError`` (bad
  or revoked token, throttled IP) or ``WialonUnavailableError`` (no answer, an
  HTTP error, a garbled reply): one cause for the whole run, said once.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import requests
import urllib3

from core import platform_session

from .errors import BACKOFF_CODES, RELOGIN_CODES, describe

log = logging.getLogger(__name__)

API_PATH = "/wialon/ajax.html"
# Wialon's limit of simultaneous requests in one session.
SESSION_CONCURRENCY_LIMIT = 10
LOGIN_FLAGS = 0x1  # basic information is all we need from the login reply
#: No data flags: a count needs only ``totalItemsCount``, not the units' names and rights
#: (the base flag 0x1 makes each unit about five times bigger on the wire).
SEARCH_FLAGS = 0x0
#: ``account/get_account_data`` without the billing settings: enough to know the account exists.
ACCOUNT_EXISTS_TYPE = 1


class WialonError(Exception):
    """Base of this client's errors."""


class WialonAuthError(WialonError):
    """Wialon refused to log in; nothing can be counted until the token is fixed."""

    def __init__(self, code: int, reason: str | None = None, retries: int = 0):
        retried = f"; still refused after {retries} retries" if retries else ""
        super().__init__(f"Wialon login refused: {describe(code, reason)}{retried}")
        self.code = code


class WialonUnavailableError(WialonError):
    """Wialon could not be asked: network failure, HTTP error or a non-JSON reply."""


@dataclass(frozen=True)
class UnitCount:
    """How many units ``account_id`` has, or why that is unknown.

    ``count`` is None exactly when counting failed; ``error_code`` is Wialon's
    error code when Wialon gave one (None for network or reply problems), and
    ``reason`` says what went wrong in words an operator can act on.
    """

    account_id: int
    count: int | None
    error_code: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Backoff:
    """Waits between retries when Wialon says it is busy (10 / 1003)."""

    base: float = 0.2
    cap: float = 5.0
    attempts: int = 6

    def delay(self, attempt: int) -> float:
        """Full-jitter exponential delay before retry number ``attempt`` (from 0)."""
        return random.uniform(0, min(self.cap, self.base * 2 ** attempt))


@dataclass(frozen=True)
class _Method:
    """A batch sub-request per id and how its reply becomes a ``UnitCount``."""

    request: Callable[[int], dict]
    read: Callable[[int, Any], "UnitCount"]


def _search_request(account_id: int) -> dict:
    return {
        "svc": "core/search_items",
        "params": {
            "spec": {"itemsType": "avl_unit", "propName": "sys_billing_account_guid",
                     "propValueMask": str(account_id), "sortType": "sys_name",
                     "propType": "property"},
            "force": 1, "flags": SEARCH_FLAGS, "from": 0, "to": 0,
        },
    }


def _account_data_request(account_id: int, detail: int = 2) -> dict:
    return {"svc": "account/get_account_data", "params": {"itemId": account_id, "type": detail}}


def _count_at(*path: str) -> Callable[[int, Any], "UnitCount"]:
    def read(account_id: int, reply: Any) -> UnitCount:
        return _extract_count(account_id, reply, path)
    return read


def _exists(account_id: int, reply: Any) -> UnitCount:
    """The account answered, so it exists; the count (0) is the search's."""
    if not isinstance(reply, dict):
        return UnitCount(account_id, None, None,
                         "unexpected reply from Wialon: account data is not an object")
    return UnitCount(account_id, 0)


METHODS: dict[str, _Method] = {
    "search": _Method(_search_request, _count_at("totalItemsCount")),
    "account_data": _Method(_account_data_request,
                            _count_at("settings", "combined", "services", "avl_unit", "usage")),
}
_EXISTS = _Method(lambda account_id: _account_data_request(account_id, ACCOUNT_EXISTS_TYPE),
                  _exists)


def _error_code(reply: Any) -> int | None:
    if isinstance(reply, dict) and reply.get("error"):
        return int(reply["error"])
    return None


def _extract_count(account_id: int, reply: Any, path: tuple[str, ...]) -> UnitCount:
    value = reply
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        return UnitCount(account_id, None, None,
                         f"unexpected reply from Wialon: no integer {'.'.join(path)}")
    return UnitCount(account_id, value)


def _failure(account_id: int, code: int, reply: dict, busy_retries: int) -> UnitCount:
    reason = describe(code, reply.get("reason"))
    if code in RELOGIN_CODES:
        reason += "; still failing after logging in again"
    elif code in BACKOFF_CODES:
        reason += f"; still failing after {busy_retries} retries"
    return UnitCount(account_id, None, code, reason)


class WialonClient:
    """Counts units per billing account through one Wialon session.

    Thread-safe for the batches it runs itself; one client per token.
    """

    def __init__(self, base_url: str, token: str, timeout: float = 10,
                 max_concurrency: int = 10, batch_size: int = 200, *,
                 backoff: Backoff = Backoff()):
        if not 1 <= max_concurrency <= SESSION_CONCURRENCY_LIMIT:
            raise ValueError(f"max_concurrency must be 1..{SESSION_CONCURRENCY_LIMIT} "
                             f"(Wialon's per-session limit), got {max_concurrency}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.api_url = base_url.rstrip("/") + API_PATH
        self._token = token
        self._timeout = timeout
        self._max_concurrency = max_concurrency
        self._batch_size = batch_size
        self._backoff = backoff
        # room for one pooled connection per concurrent batch, reused when the server
        # keeps connections alive
        self._http = platform_session(self.api_url, max_concurrency)
        self._sid: str | None = None
        self._login_lock = threading.Lock()

    # --- session -------------------------------------------------------------

    def login(self) -> dict:
        """Open a session with the token; returns Wialon's login reply (``user``, ``eid``...).

        Raises ``WialonAuthError`` if Wialon refuses, ``WialonUnavailableError``
        if it cannot be reached.
        """
        with self._login_lock:
            return self._login_locked()

    def _login_locked(self) -> dict:
        """Log in, backing off on 10 / 1003 as on any other call (Wialon answers 1003 to
        a login while it limits them, e.g. "LIMIT failed_logins")."""
        for attempt in range(self._backoff.attempts + 1):
            reply = self._post("token/login", {"token": self._token, "fl": LOGIN_FLAGS},
                               sid=None)
            code = _error_code(reply)
            if code not in BACKOFF_CODES or attempt == self._backoff.attempts:
                break
            pause = self._backoff.delay(attempt)
            log.info("Wialon refused the login for now (error %s); retrying in %.2fs",
                     code, pause)
            time.sleep(pause)
        if code is not None:
            raise WialonAuthError(code, reply.get("reason"),
                                  attempt if code in BACKOFF_CODES else 0)
        if not isinstance(reply, dict) or not isinstance(reply.get("eid"), str):
            raise WialonUnavailableError("unexpected login reply from Wialon: no session id (eid)")
        self._sid = reply["eid"]
        return reply

    def logout(self) -> None:
        """End the session.  Best effort: a session that is already gone is fine."""
        with self._login_lock:
            sid, self._sid = self._sid, None
        if sid is None:
            return
        try:
            self._post("core/logout", {}, sid)
        except WialonUnavailableError as exc:
            log.warning("Wialon logout failed (the session will idle out): %s", exc)

    def close(self) -> None:
        self.logout()
        self._http.close()

    def __enter__(self) -> "WialonClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _session_id(self) -> str:
        with self._login_lock:
            if self._sid is None:
                self._login_locked()
            return self._sid

    def _relogin(self, stale_sid: str) -> None:
        """Log in again unless another batch already replaced ``stale_sid``."""
        with self._login_lock:
            if self._sid == stale_sid:
                log.warning("Wialon session lost; logging in again")
                self._login_locked()

    # --- transport -----------------------------------------------------------

    def _post(self, svc: str, params: Any, sid: str | None) -> Any:
        """One API call as a POST form; returns the decoded JSON reply (errors included)."""
        form = {"svc": svc, "params": json.dumps(params, separators=(",", ":"))}
        if sid is not None:
            form["sid"] = sid
        try:
            response = self._http.post(self.api_url, data=form, timeout=self._timeout)
        except requests.RequestException as exc:
            raise WialonUnavailableError(network_failure(exc, self.api_url, self._timeout)) \
                from exc
        content_type = response.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip() != "application/json":
            if response.status_code != 200:
                raise WialonUnavailableError(
                    f"Wialon at {self.api_url} answered HTTP {response.status_code} "
                    f"{response.reason or ''}".rstrip() + " instead of the API's JSON")
            raise WialonUnavailableError(
                f"non-JSON reply from Wialon (HTTP 200, Content-Type "
                f"{content_type or 'missing'})")
        try:
            reply = response.json()
        except ValueError:
            raise WialonUnavailableError(
                f"garbled reply from Wialon (HTTP {response.status_code}: the JSON is cut "
                f"short or broken)") from None
        if response.status_code != 200:
            raise WialonUnavailableError(f"HTTP {response.status_code} reply from Wialon")
        return reply

    # --- counting ------------------------------------------------------------

    def count_units(self, account_ids: Iterable[int],
                    method: str = "search") -> dict[int, UnitCount]:
        """Count the units of each billing account id, in the order given.

        ``method="search"`` counts ``core/search_items`` hits
        (``totalItemsCount``), then checks that each account found empty exists;
        ``method="account_data"`` reads the account's
        ``settings.combined.services.avl_unit.usage``.  Per-account problems
        end up in the result; a run that cannot log in raises
        ``WialonAuthError`` or ``WialonUnavailableError``.
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
        ids = list(dict.fromkeys(int(account_id) for account_id in account_ids))
        if not ids:
            return {}
        self._session_id()  # a bad token or a dead server fails here, once for the run
        counted = self._run_batches(ids, METHODS[method])
        if method == "search":
            empty = [a for a in ids if counted[a].count == 0]
            if empty:
                counted.update(self._run_batches(empty, _EXISTS))
        return {account_id: counted[account_id] for account_id in ids}

    def _run_batches(self, ids: list[int], method: _Method) -> dict[int, UnitCount]:
        """``method`` for every id, in batches, at most ``max_concurrency`` at once."""
        batches = [ids[i:i + self._batch_size] for i in range(0, len(ids), self._batch_size)]
        counted: dict[int, UnitCount] = {}
        with ThreadPoolExecutor(max_workers=min(self._max_concurrency, len(batches)),
                                thread_name_prefix="wialon-count") as pool:
            futures = [pool.submit(self._count_batch, batch, method) for batch in batches]
            try:
                for future in as_completed(futures):
                    counted.update(future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return counted

    def _count_batch(self, account_ids: list[int], method: _Method) -> dict[int, UnitCount]:
        """Count one batch, re-logging in once and backing off as Wialon asks."""
        done: dict[int, UnitCount] = {}
        pending = account_ids
        relogged = False
        busy_retries = 0
        while pending:
            try:
                sid = self._session_id()
                replies = self._send_batch(sid, pending, method)
            except WialonUnavailableError as exc:
                done.update({a: UnitCount(a, None, None, str(exc)) for a in pending})
                break
            retry: list[int] = []
            session_lost = busy = False
            for account_id, reply in zip(pending, replies):
                code = _error_code(reply)
                if code in RELOGIN_CODES and not relogged:
                    retry.append(account_id)
                    session_lost = True
                elif code in BACKOFF_CODES and busy_retries < self._backoff.attempts:
                    retry.append(account_id)
                    busy = True
                elif code is not None:
                    done[account_id] = _failure(account_id, code, reply, busy_retries)
                else:
                    done[account_id] = method.read(account_id, reply)
            if session_lost:
                relogged = True
                try:
                    self._relogin(sid)
                except WialonUnavailableError as exc:
                    done.update({a: UnitCount(a, None, None, str(exc)) for a in retry})
                    break
            if busy:
                pause = self._backoff.delay(busy_retries)
                busy_retries += 1
                log.info("Wialon is busy; retrying %d accounts in %.2fs", len(retry), pause)
                time.sleep(pause)
            pending = retry
        return done

    def _send_batch(self, sid: str, account_ids: list[int], method: _Method) -> list:
        """One ``core/batch`` call; a whole-call error is repeated for every id."""
        reply = self._post("core/batch",
                           {"params": [method.request(a) for a in account_ids], "flags": 0},
                           sid)
        if _error_code(reply) is not None:
            return [reply] * len(account_ids)
        if not isinstance(reply, list) or len(reply) != len(account_ids):
            raise WialonUnavailableError(
                f"unexpected batch reply from Wialon: expected {len(account_ids)} results")
        return reply


def network_failure(exc: requests.RequestException, url: str, timeout: float) -> str:
    """What went wrong on the way to Wialon, in words (not urllib3's repr of its pool)."""
    where = f"Wialon at {url}"
    if isinstance(exc, requests.ConnectTimeout):
        return f"{where} did not accept a connection within {timeout:g} s"
    if isinstance(exc, requests.ReadTimeout):
        return f"{where} did not answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"cannot reach {where}: the secure connection failed (TLS certificate or handshake)"
    causes = _causes(exc)
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return f"cannot reach {where}: connection refused (nothing listens there, or it is down)"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return f"cannot reach {where}: its host name does not resolve"
    if any(isinstance(c, (ConnectionResetError, http.client.RemoteDisconnected,
                          urllib3.exceptions.ProtocolError)) for c in causes):
        return f"{where} closed the connection without answering"
    os_error = next((c for c in reversed(causes) if isinstance(c, OSError) and c.strerror), None)
    detail = os_error.strerror if os_error else type(exc).__name__
    return f"cannot reach {where}: {detail}"


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from, outermost first."""
    chain: list[BaseException] = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__ or next(
            (a for a in exc.args if isinstance(a, BaseException)), None)
    return chain
