"""Sending an event to the webhook endpoints that want it, signed as Stripe signs
(docs/webhooks.md): `Abonent-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>" with the endpoint's secret>`.

One outbox delivery (plugin "webhooks") carries an event to every enabled endpoint that
wants it, each POST logged as a `WebhookAttempt`. Its outcome (docs/hooks.md, "Outcomes
of a delivery"):

- an endpoint that answered 2xx has the event: a later attempt of the delivery skips it
  (read from the log), so each endpoint gets it at least once, mostly exactly once;
- no answer, a timeout, 5xx, 408 or 429 from any endpoint → `RetryLater` for the whole
  delivery (the others are not sent again). The outbox keeps a contract's events in
  order, so an endpoint that is down holds back that contract's later events for the
  others too, until it answers, is disabled (a disabled endpoint is skipped at the next
  attempt), or the event is older than `outbox.retry_later_max_seconds` (dead letter);
- any other answer (4xx, a redirect, which is never followed) refuses the event for that
  endpoint only: once no endpoint is left to retry, the delivery is `Rejected` (a dead
  letter, which holds nothing back) with each refusing endpoint's answer, while the
  others have theirs. Retrying the dead letter by hand sends it to those endpoints only.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from core.clock import now
from core.errors import NotFound, Rejected, RetryLater
from core.events import Event
from core.http import PlatformHTTP, PlatformTimeout, PlatformUnreachable
from core.models import Delivery, WebhookAttempt, WebhookEndpoint
from core.webhooks import PLUGIN, private_address, private_refusal, wants

USER_AGENT = "Abonent-Webhooks/1"
#: statuses that mean "not now" rather than "no"
RETRIED = frozenset({408, 429})
EXCERPT = 500
#: the test event's type (sent at once from the admin, the API or the CLI; never an
#: outbox event, so not one of core.events.NOTIFICATIONS)
TEST_EVENT = "webhook_test"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `Abonent-Signature` header's value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def document(event: Event) -> dict[str, Any]:
    """The JSON body of an event's request."""
    return {"id": event.id, "type": event.name, "created_at": event.created_at.isoformat(),
            "contract_id": event.contract_id, "account_id": event.account_id,
            "data": event.payload}


@dataclass(frozen=True)
class Target:
    """What sending needs of an endpoint, read before the calls (no session held)."""

    id: int
    url: str
    secret: str
    #: which try of this event at this endpoint it is (from 1; the log's `attempt`)
    attempt: int = 1


@dataclass(frozen=True)
class Sent:
    """One POST's outcome: "ok", "retry" or "refused"."""

    target: Target
    outcome: str
    status: int | None
    excerpt: str | None
    error: str | None
    duration_ms: int

    def describe(self) -> str:
        answer = (f"answered {self.status}: {self.excerpt or ''}".strip() if self.status
                  else f"not reached: {self.error}")
        return f"endpoint {self.target.id} ({self.target.url}) {answer}"[:600]


class Sender:
    """POSTs with kept-alive connections: one `PlatformHTTP` per endpoint URL, shared by
    the lane's threads (`connections` each), made on first use."""

    def __init__(self, connect_timeout: float, read_timeout: float, connections: int,
                 allow_private: bool = True):
        self.timeout = (connect_timeout, read_timeout)
        self.connections = connections
        self.allow_private = allow_private
        self._clients: dict[str, PlatformHTTP] = {}
        self._lock = threading.Lock()

    def _client(self, url: str) -> PlatformHTTP:
        with self._lock:
            if url not in self._clients:
                self._clients[url] = PlatformHTTP(url, self.connections)
            return self._clients[url]

    def post(self, target: Target, document_: dict[str, Any], event_id: str,
             idempotency_key: str) -> Sent:
        # PlatformHTTP sends json.dumps(json_body, allow_nan=False): signed as it is sent
        body = json.dumps(document_, allow_nan=False).encode()
        headers = {"Abonent-Signature": sign(target.secret, int(time.time()), body),
                   "Abonent-Event-Id": event_id, "Idempotency-Key": idempotency_key,
                   "User-Agent": USER_AGENT}
        started = time.monotonic()
        if not self.allow_private:  # again at every send: a name may resolve elsewhere now
            host = urlsplit(target.url).hostname or ""
            try:
                private = private_address(host)
            except OSError as exc:
                return Sent(target, "retry", None, None, f"{host} does not resolve: {exc}",
                            _since(started))
            if private is not None:
                return Sent(target, "refused", None, None, private_refusal(host, private),
                            _since(started))
        try:
            answer = self._client(target.url).request(
                "POST", target.url, timeout=self.timeout, json_body=document_,
                headers=headers)
        except (PlatformTimeout, PlatformUnreachable) as exc:
            return Sent(target, "retry", None, None, str(exc)[:2000], _since(started))
        status = answer.status_code
        outcome = ("ok" if 200 <= status < 300 else
                   "retry" if status >= 500 or status in RETRIED else "refused")
        return Sent(target, outcome, status, answer.text[:EXCERPT], None, _since(started))


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def deliver(runtime, sender: Sender, event: Event) -> None:
    """The webhooks plugin's delivery of `event` (see the module's docstring)."""
    with runtime.session(actor="webhooks") as session:
        delivery_id = session.scalar(select(Delivery.id).where(
            Delivery.event_id == event.id, Delivery.plugin == PLUGIN))
        tries: dict[int, int] = {}
        accepted = set()
        for endpoint_id, status in session.execute(select(
                WebhookAttempt.endpoint_id, WebhookAttempt.status).where(
                WebhookAttempt.event_id == event.id)):
            tries[endpoint_id] = tries.get(endpoint_id, 0) + 1
            if status is not None and 200 <= status < 300:
                accepted.add(endpoint_id)
        targets = [Target(e.id, e.url, e.secret, tries.get(e.id, 0) + 1)
                   for e in session.scalars(select(WebhookEndpoint).where(
                       WebhookEndpoint.enabled.is_(True)).order_by(WebhookEndpoint.id))
                   if wants(e, event.name) and e.id not in accepted]
    body = document(event)
    results = [sender.post(target, body, str(event.id),
                           f"{event.idempotency_key}:{target.id}") for target in targets]
    _log(runtime, results, event.id, event.name, delivery_id)
    waiting = [sent.describe() for sent in results if sent.outcome == "retry"]
    if waiting:
        raise RetryLater("; ".join(waiting)[:2000])
    refused = [sent.describe() for sent in results if sent.outcome == "refused"]
    if refused:
        raise Rejected("; ".join(refused)[:2000])


def send_test(runtime, sender: Sender, endpoint_id: int) -> WebhookAttempt:
    """Send a `webhook_test` event to one endpoint now (enabled or not) and return the
    logged attempt: what the admin, the API and the CLI show."""
    with runtime.session(actor="webhooks") as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None:
            raise NotFound("id", f"no webhook endpoint {endpoint_id}")
        target = Target(endpoint.id, endpoint.url, endpoint.secret)
    key = f"test-{secrets.token_hex(8)}"
    body = {"id": 0, "type": TEST_EVENT, "created_at": now().isoformat(), "contract_id": None,
            "account_id": None, "data": {"message": "a test event from Abonent"}}
    sent = sender.post(target, body, key, f"{key}:{target.id}")
    return _log(runtime, [sent], None, TEST_EVENT, None)[0]


def _log(runtime, results: list[Sent], event_id: int | None, event_name: str,
         delivery_id: int | None) -> list[WebhookAttempt]:
    """One log row per POST, written together after the calls."""
    if not results:
        return []
    with runtime.session(actor="webhooks") as session:
        rows = [WebhookAttempt(endpoint_id=sent.target.id, event_id=event_id,
                               delivery_id=delivery_id, event_name=event_name,
                               attempt=sent.target.attempt, sent_at=now(), status=sent.status,
                               response=sent.excerpt, duration_ms=sent.duration_ms,
                               error=sent.error)
                for sent in results]
        session.add_all(rows)
        session.flush()
    return rows
