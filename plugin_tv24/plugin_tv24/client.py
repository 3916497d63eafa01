"""The billing's HTTP client for the 24h TV provider API.

One :class:`Tv24Client` holds one ``core.PlatformHTTP`` (a urllib3 pool) so that
consecutive calls reuse a kept-alive connection. Every call carries the provider token as
``?token=``.

The caller (the plugin's event delivery) needs only one decision from a failure: try
again later, or give up and show the operator why. Hence the small error hierarchy:

* :class:`Tv24Unavailable` - 5xx, 429 (rate limit), connection errors, timeouts, and
  bodies that are not the JSON the API promised: transient, retry later;
* :class:`Tv24Rejected` - any other 4xx: the platform refused the request, retrying the
  same request will not help; ``reason`` reads like
  ``"HTTP 400: phone: User with this phone already exists."``;
* :class:`Tv24DuplicateUser` - a rejection saying the phone/username/email is taken,
  which the caller resolves by looking the existing user up instead of creating one.

No transport exception and no ``JSONDecodeError`` escapes; every message has the
token masked out. Any 2xx is success: real deployments answer 200 where the spec says
201 or 204.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from core import Answer, PlatformHTTP, PlatformTimeout, PlatformUnreachable

PAGE_SIZE = 100  # the largest page the platform serves (limit is 1..100)
_DUPLICATE_FIELDS = ("phone", "username", "email")
_BODY_EXCERPT = 200
_ACCEPT_JSON = {"Accept": "application/json"}


class Tv24Error(Exception):
    """Any failure talking to the 24h TV platform.

    ``reason`` says what went wrong, ``request`` which call it was (``"POST /v2/users"``);
    ``str(error)`` joins both.
    """

    def __init__(self, reason: str, status: int | None = None, request: str | None = None):
        super().__init__(f"{request}: {reason}" if request else reason)
        self.reason = reason
        self.status = status
        self.request = request


class Tv24Unavailable(Tv24Error):
    """The platform could not answer now (5xx, 429, network, timeout, garbled body).

    ``retry_after`` is the delay in seconds the platform asked for (``Retry-After``),
    or ``None``.
    """

    def __init__(
        self,
        reason: str,
        status: int | None = None,
        request: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(reason, status, request)
        self.retry_after = retry_after


class Tv24Rejected(Tv24Error):
    """The platform refused the request (4xx); ``body`` is the parsed error, if any."""

    def __init__(self, reason: str, status: int, request: str | None = None, body: Any = None):
        super().__init__(reason, status, request)
        self.body = body


#: what the platform answers when asked for what is already so (an earlier attempt was
#: applied but its answer lost): the caller treats these refusals as done
ALREADY_DONE = ("already ended", "already paused")


def already_done(refusal: Tv24Rejected) -> bool:
    """Whether the platform refused because the request's effect is already there."""
    return refusal.status == 404 or any(words in refusal.reason for words in ALREADY_DONE)


class Tv24DuplicateUser(Tv24Rejected):
    """Creating or renaming a user failed because ``fields`` already belong to another."""

    def __init__(self, reason: str, status: int, request: str | None, body: Any, fields: tuple[str, ...]):
        super().__init__(reason, status, request, body)
        self.fields = fields


class Tv24Client:
    """Calls the provider API at ``base_url`` (``https://api.24h.tv``) with ``token``.

    ``timeout`` is ``(connect, read)`` seconds, or one number for both. ``http`` may be
    given to share a connection pool; tests record the traffic through its
    ``observers``. The client closes only a pool it created.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float | tuple[float, float] = (3.05, 10),
        http: PlatformHTTP | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token = token
        self._own_http = http is None
        self.http = http if http is not None else PlatformHTTP(self.base_url)

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> Tv24Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- users -------------------------------------------------------------------------

    def iter_users(self, **filters: Any) -> Iterator[dict]:
        """Every user matching ``filters`` (phone, username, provider_uid, email,
        subscriptions=current|active|paused|planned, ...), fetched page by page.

        The API has no documented default page size and no total count, so pages of
        ``PAGE_SIZE`` are requested until one comes back shorter.
        """
        offset = 0
        while True:
            page = self._call("GET", "/v2/users", params={**filters, "limit": PAGE_SIZE, "offset": offset})
            if not isinstance(page, list):
                raise Tv24Unavailable(f"expected a JSON array, got {type(page).__name__}", request="GET /v2/users")
            yield from page
            if len(page) < PAGE_SIZE:
                return
            offset += len(page)

    def find_user(
        self, phone: str | None = None, username: str | None = None, provider_uid: str | None = None
    ) -> dict | None:
        """The first user matching all the given keys, or ``None``."""
        filters = _without_none(phone=phone, username=username, provider_uid=provider_uid)
        if not filters:
            raise ValueError("find_user needs at least one of phone, username, provider_uid")
        return next(self.iter_users(**filters), None)

    def create_user(
        self,
        username: str,
        phone: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        provider_uid: str | None = None,
        is_active: bool | None = None,
        device_limit: int | None = None,
        email: str | None = None,
    ) -> dict:
        """Register a user (201 ``BaseUser``); raises :class:`Tv24DuplicateUser` when the
        phone or username is taken. An empty e-mail is left out: the platform rejects it."""
        body = _user_fields(
            username=username,
            phone=phone,
            first_name=first_name,
            last_name=last_name,
            provider_uid=provider_uid,
            is_active=is_active,
            device_limit=device_limit,
            email=email,
        )
        return self._call("POST", "/v2/users", json=body)

    def get_user(self, user_id: int) -> dict:
        return self._call("GET", _path("v2", "users", user_id))

    def patch_user(self, user_id: int, **fields: Any) -> dict:
        """Change some fields of a user; ``None`` values and an empty e-mail are not sent."""
        return self._call("PATCH", _path("v2", "users", user_id), json=_user_fields(**fields))

    def delete_user(self, user_id: int) -> None:
        """Deactivate the user (the platform keeps it; subscriptions are NOT stopped)."""
        self._call("DELETE", _path("v2", "users", user_id))

    # -- packets -----------------------------------------------------------------------

    def packets(self, includes_availables: bool = False) -> list[dict]:
        """The provider's packets; with ``includes_availables`` each carries ``available``,
        the add-ons that may be bought on top of it."""
        params = {"includes": "availables"} if includes_availables else None
        return self._call("GET", "/v2/packets", params=params)

    # -- subscriptions -----------------------------------------------------------------

    def subscriptions(self, user_id: int, types: str | None = None) -> list[dict]:
        """A user's subscriptions, optionally only ``types`` (active, current, paused,
        planned)."""
        return self._call("GET", _subscriptions_path(user_id), params=_without_none(types=types))

    def create_subscriptions(self, user_id: int, items: Iterable[Mapping[str, Any]]) -> list[dict]:
        """Subscribe the user to packets: items are ``{packet_id, renew, start_at?, end_at?}``;
        datetimes may be given as ``datetime`` objects."""
        body = [{key: _json_value(value) for key, value in item.items()} for item in items]
        return self._call("POST", _subscriptions_path(user_id), json=body)

    def patch_subscription(self, user_id: int, subscription_id: str, renew: bool) -> dict:
        return self._call("PATCH", _subscriptions_path(user_id, subscription_id), json={"renew": renew})

    def delete_subscription(self, user_id: int, subscription_id: str) -> None:
        """End the subscription now (the platform refuses while it is paused)."""
        self._call("DELETE", _subscriptions_path(user_id, subscription_id))

    # -- pauses ------------------------------------------------------------------------

    def pause_subscription(self, user_id: int, subscription_id: str) -> dict:
        """Pause one subscription; returns the pause ``{id, start_at, end_at}``."""
        return self._call("POST", _subscriptions_path(user_id, subscription_id, "pauses"))

    def unpause(self, user_id: int, subscription_id: str, pause_id: str) -> None:
        self._call("DELETE", _subscriptions_path(user_id, subscription_id, "pauses", pause_id))

    def pause_all(self, user_id: int) -> list[dict]:
        """Pause every current subscription of the user; returns the new pauses."""
        return self._call("POST", _path("v2", "users", user_id, "pauses"))

    def unpause_all(self, user_id: int) -> None:
        self._call("DELETE", _path("v2", "users", user_id, "pauses", "delete"))

    # -- transport ---------------------------------------------------------------------

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None) -> Any:
        """Send one request and return its parsed JSON body (``None`` for an empty one)."""
        what = f"{method} {path}"
        query = {**_without_none(**(params or {})), "token": self._token}
        try:
            response = self.http.request(method, self.base_url + path, params=query, json_body=json,
                                         timeout=self.timeout, headers=_ACCEPT_JSON)
        except PlatformTimeout as exc:
            reason = f"no answer within {self.timeout} s ({self._masked(exc)})"
            raise Tv24Unavailable(reason, request=what) from None
        except PlatformUnreachable as exc:
            raise Tv24Unavailable(self._masked(exc), request=what) from None
        return _interpret(what, response)

    def _masked(self, exc: Exception) -> str:
        # a transport error may carry the full URL, query string and token included.
        return f"{type(exc).__name__}: {exc}".replace(self._token, "***")


def _interpret(what: str, response: Answer) -> Any:
    """The body of a 2xx answer, or the matching :class:`Tv24Error`."""
    status = response.status_code
    try:
        body = response.json() if response.content else None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        kind = response.headers.get("Content-Type", "no content type")
        reason = f"HTTP {status} with a non-JSON body ({kind}): {response.text[:_BODY_EXCERPT]!r}"
        if 400 <= status < 500 and status != 429:
            raise Tv24Rejected(reason, status, what) from None
        raise Tv24Unavailable(reason, status, what, _retry_after(response)) from None
    if 200 <= status < 300:
        return body
    reason = f"HTTP {status}: {_error_text(body)}"
    if status == 429 or not 400 <= status < 500:
        raise Tv24Unavailable(reason, status, what, _retry_after(response))
    taken = _duplicate_fields(body)
    if taken:
        raise Tv24DuplicateUser(reason, status, what, body, taken)
    raise Tv24Rejected(reason, status, what, body)


def _error_text(body: Any) -> str:
    """Readable text from the platform's ``{"error": {"message"}, "detail"}`` envelope."""
    if isinstance(body, dict):
        if body.get("detail"):
            return _flatten(body["detail"])
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return f"unexpected error body {str(body)[:_BODY_EXCERPT]!r}"


def _flatten(detail: Any) -> str:
    """DRF-style details: ``{"phone": ["msg"]}`` -> ``"phone: msg"``, nested or in lists."""
    if isinstance(detail, dict):
        return "; ".join(f"{field}: {_flatten(value)}" for field, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail if item)
    return str(detail)


def _duplicate_fields(body: Any) -> tuple[str, ...]:
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, dict):
        return ()
    return tuple(field for field in _DUPLICATE_FIELDS if "already exists" in _flatten(detail.get(field, "")))


def _retry_after(response: Answer) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def _user_fields(**fields: Any) -> dict[str, Any]:
    body = _without_none(**fields)
    if "email" in body and not body["email"]:
        del body["email"]  # the platform rejects an empty e-mail instead of ignoring it
    return body


def _without_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give the time zone")
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _path(*segments: Any) -> str:
    return "".join("/" + quote(str(segment), safe="") for segment in segments)


def _subscriptions_path(user_id: int, *rest: Any) -> str:
    return _path("v2", "users", user_id, "subscriptions", *rest)
