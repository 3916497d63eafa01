"""The billing's XML-RPC client for SGT's SMS (the JAMBOX subscriber management system).

Every call is one HTTP POST of an XML-RPC request whose FIRST argument is the auth struct
``{"user_name": login, "user_pass": md5 hex of the password}`` (a password that already
is 32 hex digits is taken as hashed, as SGT's LMS module configures it), the method's own
arguments following by position. ``requests`` carries it, over a kept-alive session, so
timeouts hold (10 s; 30 s for the billing events call) and the fault kit's proxy sits in
between in tests.

A caller needs one decision from a failure, hence two errors:

* :class:`JamboxFault` - the SMS answered with an XML-RPC fault: it refused the call
  (unknown id, a rule such as "Usługa może zostać zaterminowana jedynie na koniec okresu
  rozliczeniowego"); ``message`` is SGT's text as it came, shown to the operator;
* :class:`JamboxUnavailable` - no usable answer: a timeout, a refused connection, an HTTP
  error status, or a malformed / truncated reply. Whether the SMS applied the call is
  unknown, so an operation re-reads the SMS before it tries again.

Reads may be cached (SGT's module does, ``cache = 1``): with ``cache_lifetime`` > 0 the
answers of the read methods in :data:`READS` are kept that many seconds, and any other
call (a write) drops them all, so a client never shows what it has itself just changed.
"""
from __future__ import annotations

import hashlib
import re
import threading
import time
import xmlrpc.client
from typing import Any
from xml.parsers.expat import ExpatError

import requests

#: methods that only read: their answers may be cached
READS = frozenset({
    "custList", "custGetSubscriptions", "accountGetSTB", "packageGetAll", "packageGetAvail",
    "getPackagesForUpgrade", "getExtraPackagesForSubscription", "stbGetRegistered",
    "subnetList", "meldingerList",
})
EVENTS_METHOD = "billingEventsGet"
_HEADERS = {"Content-Type": "text/xml; charset=utf-8", "Accept-Encoding": "identity"}
_EXCERPT = 200
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")


class JamboxError(Exception):
    """Any failure talking to the SMS; ``method`` is the XML-RPC method called."""

    def __init__(self, message: str, method: str | None = None):
        super().__init__(message)
        self.message = message
        self.method = method


class JamboxFault(JamboxError):
    """The SMS refused the call: an XML-RPC fault, ``code`` and SGT's ``message``."""

    def __init__(self, code: int, message: str, method: str | None = None):
        super().__init__(message, method)
        self.code = code


class JamboxUnavailable(JamboxError):
    """No usable answer (timeout, connection, HTTP status, malformed reply)."""

    def __str__(self) -> str:
        return f"{self.method}: {self.message}" if self.method else self.message


def password_hash(password: str) -> str:
    """What the SMS wants as ``user_pass``: the MD5 hex of the password (a 32-hex value
    is taken as already hashed)."""
    if _HEX32.fullmatch(password):
        return password.lower()
    return hashlib.md5(password.encode("utf-8")).hexdigest()


def encode(method: str, args: tuple) -> bytes:
    """An XML-RPC request body (nil allowed: "every customer" is sent as nil)."""
    return xmlrpc.client.dumps(args, methodname=method, allow_none=True,
                               encoding="utf-8").encode("utf-8")


class JamboxClient:
    """Calls the SMS at ``url`` (``https://sms.sgtsa.pl/sms/xmlrpc``) as ``login``."""

    def __init__(self, url: str, login: str, password: str, timeout: float = 10,
                 events_timeout: float = 30, cache_lifetime: float = 0,
                 session: requests.Session | None = None):
        self.url = url
        self.timeout = float(timeout)
        self.events_timeout = float(events_timeout)
        self.cache_lifetime = float(cache_lifetime)
        self.auth = {"user_name": login, "user_pass": password_hash(password)}
        self._own_session = session is None
        self.session = session if session is not None else requests.Session()
        self._cache: dict[tuple, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> "JamboxClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------

    def post(self, method: str, *args: Any, stream: bool = False) -> requests.Response:
        """Send one call and return the HTTP answer (status 200 checked), unparsed: for
        a caller that parses a large reply as a stream (``stream=True``)."""
        timeout = self.events_timeout if method == EVENTS_METHOD else self.timeout
        try:
            response = self.session.post(self.url, data=encode(method, (self.auth, *args)),
                                         headers=_HEADERS, timeout=timeout, stream=stream)
        except requests.Timeout:
            raise JamboxUnavailable(f"no answer within {timeout:g} s", method) from None
        except requests.RequestException as exc:
            raise JamboxUnavailable(f"{type(exc).__name__}: {exc}", method) from None
        if response.status_code != 200:
            text = response.text[:_EXCERPT] if not stream else ""
            response.close()
            raise JamboxUnavailable(f"HTTP {response.status_code} {text!r}".rstrip(" ''"),
                                    method)
        return response

    def call(self, method: str, *args: Any) -> Any:
        """Call ``method`` with ``args`` (after the auth struct); its result, or
        :class:`JamboxFault` / :class:`JamboxUnavailable`."""
        key = (method, repr(args))
        if method in READS and self.cache_lifetime > 0:
            with self._lock:
                cached = self._cache.get(key)
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
        elif method not in READS:
            with self._lock:
                self._cache.clear()
        try:
            body = self.post(method, *args).content
        except requests.RequestException as exc:  # the body broke off while being read
            raise JamboxUnavailable(f"{type(exc).__name__}: {exc}", method) from None
        result = decode(method, body)
        if method in READS and self.cache_lifetime > 0:
            with self._lock:
                self._cache[key] = (time.monotonic() + self.cache_lifetime, result)
        return result

    def forget_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    # -- customers ---------------------------------------------------------------------

    def cust_add(self, cust_data: dict) -> int:
        return int(self.call("custAdd", cust_data))

    def cust_edit(self, cust_number: int, cust_data: dict) -> Any:
        return self.call("custEdit", cust_number, cust_data)

    def cust_list(self, cust_number: int | str = "") -> list[dict]:
        """Every customer (``""``), or the one customer as a one-item list."""
        return as_list(self.call("custList", cust_number))

    def cust_get_subscriptions(self, cust_number: int) -> list[dict]:
        return as_list(self.call("custGetSubscriptions", cust_number))

    # -- accounts ----------------------------------------------------------------------

    def account_add(self, cust_number: int, acc_data: dict) -> int:
        return int(self.call("accountAdd", cust_number, acc_data))

    def account_edit(self, account_id: int, acc_data: dict) -> Any:
        return self.call("accountEdit", account_id, acc_data)

    def account_del(self, account_id: int) -> Any:
        return self.call("accountDel", account_id)

    def account_lock(self, account_id: int) -> Any:
        return self.call("accountLock", account_id)

    def account_unlock(self, account_id: int) -> Any:
        return self.call("accountUnlock", account_id)

    def account_get_stb(self, account_id: int) -> list[dict]:
        return as_list(self.call("accountGetSTB", account_id))

    # -- packages and subscriptions ----------------------------------------------------

    def package_get_all(self) -> list[dict]:
        return as_list(self.call("packageGetAll"))

    def package_get_avail(self, account_id: int) -> list[dict]:
        return as_list(self.call("packageGetAvail", account_id))

    def packages_add(self, account_id: int, package_ids: list[int], start: str) -> Any:
        """Add packages as inactive services from ``start`` ("YYYY-MM-DD")."""
        return self.call("packagesAdd", account_id, list(package_ids), start)

    def packages_entitle(self, account_id: int, package_ids: list[int], start: str) -> Any:
        """Add packages and activate them from ``start``."""
        return self.call("packagesEntitle", account_id, list(package_ids), start)

    def subscription_activate(self, account_id: int, subscription_id: int) -> Any:
        return self.call("subscriptionActivate", account_id, subscription_id)

    def subscription_terminate(self, account_id: int, subscription_id: int, term_date: str,
                               term_fee: str = "", term_desc: str = "") -> Any:
        return self.call("subscriptionTerminate", account_id, subscription_id, term_date,
                         term_fee, term_desc)

    def get_packages_for_upgrade(self, subscription_id: int) -> dict:
        return self.call("getPackagesForUpgrade", subscription_id) or {"packages": []}

    def package_upgrade(self, subscription_id: int, new_package_id: int, date: str) -> Any:
        return self.call("packageUpgrade", subscription_id, new_package_id, date, True)

    def get_extra_packages_for_subscription(self, subscription_id: int) -> list[dict]:
        return as_list(self.call("getExtraPackagesForSubscription", subscription_id))

    def add_extra_package_for_subscription(self, subscription_id: int, package_id: int) -> Any:
        return self.call("addExtraPackageForSubscription", subscription_id, package_id)

    # -- set-top boxes and subnets -----------------------------------------------------

    def stb_register(self, mac: str, serial: str, model: str) -> Any:
        return self.call("stbRegister", mac, serial, model)

    def stb_remove(self, mac: str) -> Any:
        return self.call("stbRemove", mac)

    def stb_get_registered(self, where: str = "") -> list[dict]:
        """Boxes in ``"stock"``, at a ``"customer"``'s, or all (``""``)."""
        return as_list(self.call("stbGetRegistered", where))

    def stb_link(self, account_id: int, mac: str, subnet_id: int, cust_order_id: int) -> Any:
        return self.call("stbLink", account_id, mac, subnet_id, cust_order_id)

    def stb_unlink(self, account_id: int, mac: str) -> Any:
        return self.call("stbUnlink", account_id, mac)

    def subnet_list(self) -> list[dict]:
        return as_list(self.call("subnetList"))

    def subnet_split(self, subnet_id: int, name1: str, name2: str) -> Any:
        return self.call("subnetSplit", subnet_id, name1, name2)

    # -- messages to the TV screen -----------------------------------------------------

    def meldinger_send(self, cust_number: int | None, msg_body: str, teaser_valid_from: str,
                       teaser_valid_to: str, msg_body_extended: str, msg_valid_from: str,
                       msg_valid_to: str, msg_prio: int, msg_show_priority: int) -> Any:
        """Send to one customer, or to every customer (``cust_number`` None, sent as nil)."""
        return self.call("meldingerSend", cust_number, msg_body, teaser_valid_from,
                         teaser_valid_to, msg_body_extended, msg_valid_from, msg_valid_to,
                         msg_prio, msg_show_priority)

    def meldinger_del(self, msg_ids: list[int] | None = None,
                      cust_number: int | None = None) -> Any:
        """Delete these messages, or (``msg_ids`` None) every message of a customer."""
        if msg_ids is None:
            return self.call("meldingerDel", None, cust_number)
        return self.call("meldingerDel", list(msg_ids))

    def meldinger_list(self, cust_number: int | str = "") -> list[dict]:
        return as_list(self.call("meldingerList", cust_number))


def decode(method: str, body: bytes) -> Any:
    """The result of an XML-RPC reply, :class:`JamboxFault` for a fault, and
    :class:`JamboxUnavailable` for anything that is not a whole XML-RPC reply."""
    try:
        params, _ = xmlrpc.client.loads(body, use_builtin_types=True)
    except xmlrpc.client.Fault as fault:
        raise JamboxFault(_fault_code(fault.faultCode), str(fault.faultString), method) from None
    except (ExpatError, xmlrpc.client.ResponseError, ValueError, TypeError, IndexError,
            OverflowError) as exc:
        raise JamboxUnavailable(f"malformed reply ({type(exc).__name__}: {exc}): "
                                f"{body[:_EXCERPT]!r}", method) from None
    if len(params) != 1:
        raise JamboxUnavailable(f"malformed reply: {len(params)} values", method)
    return params[0]


def _fault_code(code: Any) -> int:
    try:
        return int(code)
    except (TypeError, ValueError):
        return 0


def as_list(value: Any) -> list:
    """SGT answers one struct where a list of one is meant, and "" or nil for none."""
    if value in (None, "", False):
        return []
    return list(value) if isinstance(value, list) else [value]
