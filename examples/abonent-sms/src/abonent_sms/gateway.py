"""The SMS gateway's one call, and what its answers mean for a delivery.

Each answer maps to one outcome (docs/hooks.md, "Outcomes of a delivery"):
- unreachable, a timeout, a 5xx or 429, an answer cut off: `RetryLater` (not counted as
  a failed attempt; the same `ref` is sent again, and the gateway, idempotent by `ref`,
  does not text twice when only its answer was lost);
- any other 4xx: `Rejected`, the gateway refused the message for good (a dead letter
  with the gateway's reason, for a person to look at);
- an answer without an id: a `KeyError` propagates, a counted failed attempt.
"""
from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request

from core import Rejected, RetryLater

RETRY_AFTER = 60  # seconds: a gateway that is down is asked again a minute later


def send(url: str, *, sender: str, to: str, text: str, ref: str, timeout: float) -> str:
    """Text `to`; returns the gateway's message id."""
    body = json.dumps({"to": to, "text": text, "sender": sender, "ref": ref}).encode()
    request = urllib.request.Request(f"{url.rstrip('/')}/v1/messages", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.load(answer)["id"]
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise RetryLater(f"SMS gateway: HTTP {exc.code}", after=RETRY_AFTER) from None
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise Rejected(f"SMS gateway refused: HTTP {exc.code}: {detail}") from None
    except (OSError, http.client.HTTPException, json.JSONDecodeError) as exc:
        raise RetryLater(f"SMS gateway: {type(exc).__name__}: {exc}", after=RETRY_AFTER) from None
