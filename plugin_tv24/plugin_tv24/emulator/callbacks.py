"""The calls the platform makes to the billing ("callbacks"), made by the emulator.

The operator registers one API URL; the platform sends ``POST <API_URL>/<name>?<query>``
with a JSON body where the call has one, waits about 5 seconds, and reads a JSON reply
(HTTP 200). The platform signs nothing: the billing protects the endpoint with a secret
path and an address allow-list, so ``api_url`` may carry a secret path segment.

=======================  ================================  ==============================================
call                     query                             body
=======================  ================================  ==============================================
``auth``                 ``phone``, ``ip``?, ``mbr_id``?   none
``packet``               ``user_id``, ``trf_id``           ``{"packet": {"id", "price"},``
                                                           ``"user": {"id", "phone", "provider_uid"}}``
``delete_subscription``  ``user_id``, ``sub_id``           ``{"subscription": {"packet": {"id"}}}``
``balance``              ``user_id``                       none
=======================  ================================  ==============================================

``user_id`` is the billing's id of the subscriber (the platform user's ``provider_uid``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import requests

CALLBACK_TIMEOUT = 5.0  # seconds the platform waits for the billing


class CallbackError(Exception):
    """The billing did not answer a callback with JSON in time."""


class CallbackClient:
    """Sends the platform's callbacks to the billing's ``api_url``."""

    def __init__(self, api_url: str, timeout: float = CALLBACK_TIMEOUT, session: requests.Session | None = None):
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.session = session if session is not None else requests.Session()

    def auth(self, phone: str, ip: str | None = None, mbr_id: int | None = None) -> Any:
        """A user registers in the app with ``phone``; the billing answers
        ``{"user_id": ...}`` or ``{"status": -1, "err": ..., "errmsg": ...}``."""
        return self._post("auth", {"phone": phone, "ip": ip, "mbr_id": mbr_id})

    def packet(
        self, user_id: str, trf_id: int, packet_id: int, price: str | Decimal, user: Mapping[str, Any]
    ) -> Any:
        """A user buys ``packet_id`` in the app; ``user`` is the platform user
        (``id``, ``phone``, ``provider_uid``). The billing answers ``{"status": 1}`` or
        -1 (no subscriber), -2 (insufficient funds), -3 (no such tariff)."""
        body = {"packet": {"id": packet_id, "price": str(price)}, "user": dict(user)}
        return self._post("packet", {"user_id": user_id, "trf_id": trf_id}, body)

    def delete_subscription(self, user_id: str, sub_id: str, packet_id: int) -> Any:
        """A user switches a packet off in the app; ``{"status": 1}``, -1 or -4."""
        body = {"subscription": {"packet": {"id": packet_id}}}
        return self._post("delete_subscription", {"user_id": user_id, "sub_id": sub_id}, body)

    def balance(self, user_id: str) -> Any:
        """The app shows the subscriber's balance: ``{"balance": "500.00"}``."""
        return self._post("balance", {"user_id": user_id})

    def _post(self, name: str, query: Mapping[str, Any], body: Any = None) -> Any:
        url = f"{self.api_url}/{name}"
        params = {key: value for key, value in query.items() if value is not None}
        try:
            response = self.session.post(url, params=params, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise CallbackError(f"{name}: no answer from {url}: {type(exc).__name__}: {exc}") from None
        try:
            reply = response.json()
        except ValueError:
            raise CallbackError(
                f"{name}: HTTP {response.status_code} from {url} is not JSON: {response.text[:200]!r}"
            ) from None
        if response.status_code != 200:
            raise CallbackError(f"{name}: HTTP {response.status_code} from {url}: {reply!r}")
        return reply
