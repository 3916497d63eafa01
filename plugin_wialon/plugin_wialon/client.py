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
  and retry;
* any other error, a non-JSON reply, an HTTP error or no answer at all (even
  at login): the ids concerned get ``count=None`` and a reason; the run goes on;
* only a refused login (bad or revoked token, throttled IP) stops the run,
  with ``WialonAuthError``.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import requests
from requests.adapters import HTTPAdapter

from .errors import BACKOFF_CODES, RELOGIN_CODES, describe

log = logging.getLogger(__name__)

API_PATH = "/wialon/ajax.html"
# Wialon's limit of simultaneous requests in one session.
SESSION_CONCURRENCY_LIMIT = 10
LOGIN_FLAGS = 0x1  # basic information is all we need from the login reply


class WialonError(Exception):
    """Base of this client's errors."""


class WialonAuthError(WialonError):
    """Wialon refused to log in; nothing can be counted until the token is fixed."""

    def __init__(self, code: int, reason: str | None = None):
        super().__init__(f"Wialon login refused: {describe(code, reason)}")
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
    """A way of counting: the batch sub-request per id and where the count sits in the reply."""

    request: Callable[[int], dict]
    count_path: tuple[str, ...]


def _search_request(account_id: int) -> dict:
    return {
        "svc": "core/search_items",
        "params": {
            "spec": {"itemsType": "avl_unit", "propName": "sys_billing_account_guid",
                     "propValueMask": str(account_id), "sortType": "sys_name",
                     "propType": "property"},
            "force": 1, "flags": 1, "from": 0, "to": 0,
        },
    }


def _account_data_request(account_id: int) -> dict:
    return {"svc": "account/get_account_data", "params": {"itemId": account_id, "type": 2}}


METHODS: dict[str, _Method] = {
    "search": _Method(_search_request, ("totalItemsCount",)),
    "account_data": _Method(_account_data_request,
                            ("settings", "combined", "services", "avl_unit", "usage")),
}


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
        self._http = requests.Session()
        # Room for one pooled connection per concurrent batch, reused when the
        # server keeps connections alive.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max_concurrency)
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)
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
        reply = self._post("token/login", {"token": self._token, "fl": LOGIN_FLAGS}, sid=None)
        code = _error_code(reply)
        if code is not None:
            raise WialonAuthError(code, reply.get("reason"))
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
            raise WialonUnavailableError(f"cannot reach Wialon at {self.api_url}: {exc}") from exc
        content_type = response.headers.get("Content-Type", "")
        not_json = WialonUnavailableError(
            f"non-JSON reply from Wialon (HTTP {response.status_code}, "
            f"Content-Type {content_type or 'missing'})")
        if content_type.split(";")[0].strip() != "application/json":
            raise not_json
        try:
            reply = response.json()
        except ValueError:
            raise not_json from None
        if response.status_code != 200:
            raise WialonUnavailableError(f"HTTP {response.status_code} reply from Wialon")
        return reply

    # --- counting ------------------------------------------------------------

    def count_units(self, account_ids: Iterable[int],
                    method: str = "search") -> dict[int, UnitCount]:
        """Count the units of each billing account id, in the order given.

        ``method="search"`` counts ``core/search_items`` hits
        (``totalItemsCount``); ``method="account_data"`` reads the account's
        ``settings.combined.services.avl_unit.usage``.  Per-account problems
        end up in the result; only ``WialonAuthError`` is raised.
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
        ids = list(dict.fromkeys(int(account_id) for account_id in account_ids))
        if not ids:
            return {}
        try:
            self._session_id()  # a bad token fails here, before any thread starts
        except WialonUnavailableError as exc:
            return {account_id: UnitCount(account_id, None, None, str(exc)) for account_id in ids}
        batches = [ids[i:i + self._batch_size] for i in range(0, len(ids), self._batch_size)]
        counted: dict[int, UnitCount] = {}
        with ThreadPoolExecutor(max_workers=min(self._max_concurrency, len(batches)),
                                thread_name_prefix="wialon-count") as pool:
            futures = [pool.submit(self._count_batch, batch, METHODS[method])
                       for batch in batches]
            try:
                for future in as_completed(futures):
                    counted.update(future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return {account_id: counted[account_id] for account_id in ids}

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
                    done[account_id] = _extract_count(account_id, reply, method.count_path)
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
