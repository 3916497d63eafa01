"""Webhook endpoints: the operator's URLs that get chosen events, signed with a secret of
their own (docs/webhooks.md). Made, changed and removed here (audited) by the admin's
Settings → Webhooks, the API's /api/v1/webhooks and `abonent webhook`; delivered by the
built-in plugin "webhooks" (plugins/webhooks.py, core/webhooks_delivery.py).

Opt-in: the plugin's outbox lane gets a delivery only for the events some enabled endpoint
wants (`Interest`, its `abonent_delivery_filter`), so an installation without endpoints
writes no delivery per event for it.
"""
from __future__ import annotations

import ipaddress
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit

from sqlalchemy import event as orm_event
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.audit import audit, diff
from core.errors import ValidationError
from core.hookspecs import NOTIFICATIONS
from core.models import WebhookAttempt, WebhookEndpoint
from core.runtime import actor_of, runtime_of
from core.services import inputs

PLUGIN = "webhooks"
#: what an endpoint may subscribe to: every notification but the mailer's own
EVENTS = tuple(name for name in NOTIFICATIONS if name != "mail_queued")
EVERY = "*"
#: secrets start with this, so a leaked one is recognised (as the API keys' abk_)
SECRET_PREFIX = "whsec_"
#: how much of a secret the lists show after it was made
SHOWN = len(SECRET_PREFIX) + 4


@dataclass(frozen=True)
class NewSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown this once


def _allow_private(session: Session) -> bool:
    config = runtime_of(session).plugin_configs.get(PLUGIN, {})
    return bool(config.get("allow_private", True))


def check_url(value: Any, allow_private: bool = True, field: str = "url") -> str:
    """An http(s) URL without credentials; with `allow_private` False, also refused when
    its host is (or resolves to) a loopback, private, link-local or reserved address —
    the guard against making the billing call into the operator's own network (SSRF)."""
    url = inputs.text(value, field, max_len=2000)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(field, "must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(field, "must not carry a user or password (the signature "
                                     "proves the sender)")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as exc:
        raise ValidationError(field, str(exc)) from None
    if not allow_private:
        try:
            private = private_address(parts.hostname)
        except OSError as exc:
            raise ValidationError(field, f"{parts.hostname} does not resolve: {exc}") from None
        if private is not None:
            raise ValidationError(field, private_refusal(parts.hostname, private))
    return url


def private_address(host: str) -> str | None:
    """The first loopback, private, link-local or reserved address that `host` is or
    resolves to; None when every one is global. Raises OSError when it does not resolve."""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0])
                     for info in socket.getaddrinfo(host, None)]
    return next((str(address) for address in addresses if not address.is_global), None)


def private_refusal(host: str, address: str) -> str:
    return (f"{host} is a private or local address ({address}); "
            f"[plugins.webhooks] allow_private is off")


def check_events(value: Any, field: str = "events") -> list[str]:
    """Event names (a list, or text separated by commas), or ["*"] for all of them."""
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)):
        raise ValidationError(field, "must be a list of event names")
    cleaned = {str(name).strip() for name in names if str(name).strip()}
    if not cleaned:
        raise ValidationError(field, f"name at least one event, or {EVERY} for all")
    unknown = sorted(cleaned - set(EVENTS) - {EVERY})
    if unknown:
        raise ValidationError(field, f"unknown event {unknown[0]!r}; known: "
                                     f"{', '.join(EVENTS)} (or {EVERY})")
    return [EVERY] if EVERY in cleaned else sorted(cleaned)


def wants(endpoint: WebhookEndpoint, event_name: str) -> bool:
    return endpoint.enabled and (EVERY in endpoint.events or event_name in endpoint.events)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def shown(secret: str) -> str:
    """The secret as lists show it once made: enough to tell two apart."""
    return secret[:SHOWN] + "…"


def create_endpoint(session: Session, url: Any, events: Any, description: Any = "",
                    enabled: Any = True) -> NewSecret:
    endpoint = WebhookEndpoint(
        url=check_url(url, _allow_private(session)), events=check_events(events),
        description=inputs.text(description, "description", required=False) or "",
        enabled=inputs.boolean(enabled, "enabled"), secret=new_secret(),
        created_by=actor_of(session))
    session.add(endpoint)
    session.flush()
    audit(session, "create", "webhook_endpoint", endpoint.id, _state(endpoint))
    _changed(session)
    return NewSecret(endpoint, endpoint.secret)


#: what `update_endpoint` may change
FIELDS = ("url", "events", "description", "enabled", "disabled_reason")


def update_endpoint(session: Session, endpoint_id: Any, changes: dict[str, Any]
                    ) -> WebhookEndpoint:
    """Change some of FIELDS; disabling may say why (`disabled_reason`), enabling clears it."""
    inputs.only(changes, FIELDS)
    endpoint = inputs.fetch(session, WebhookEndpoint, endpoint_id, "id", lock=True)
    old = _state(endpoint)
    if "url" in changes:
        endpoint.url = check_url(changes["url"], _allow_private(session))
    if "events" in changes:
        endpoint.events = check_events(changes["events"])
    if "description" in changes:
        endpoint.description = inputs.text(changes["description"], "description",
                                           required=False) or ""
    if "enabled" in changes:
        endpoint.enabled = inputs.boolean(changes["enabled"], "enabled")
    if endpoint.enabled:
        endpoint.disabled_reason = None
    elif "disabled_reason" in changes:
        endpoint.disabled_reason = inputs.text(changes["disabled_reason"], "disabled_reason",
                                               required=False, max_len=500)
    audit(session, "update", "webhook_endpoint", endpoint.id, diff(old, _state(endpoint)))
    _changed(session)
    return endpoint


def rotate_secret(session: Session, endpoint_id: Any) -> NewSecret:
    """A new secret (the old one signs nothing from now on): shown this once."""
    endpoint = inputs.fetch(session, WebhookEndpoint, endpoint_id, "id", lock=True)
    endpoint.secret = new_secret()
    audit(session, "rotate_secret", "webhook_endpoint", endpoint.id, {"url": endpoint.url})
    return NewSecret(endpoint, endpoint.secret)


def delete_endpoint(session: Session, endpoint_id: Any) -> None:
    """Remove an endpoint and its attempts' log (deliveries under way skip it)."""
    endpoint = inputs.fetch(session, WebhookEndpoint, endpoint_id, "id", lock=True)
    audit(session, "delete", "webhook_endpoint", endpoint.id, _state(endpoint))
    session.delete(endpoint)
    session.flush()
    _changed(session)


def endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


#: the attempts' filter by answer
OUTCOMES = ("ok", "failed")


def attempts_query(endpoint_id: int | None = None, *, outcome: str | None = None,
                   status: int | None = None) -> Select:
    """Attempts of one endpoint (or all), "ok" (2xx) or "failed" ones, of one HTTP status."""
    query = select(WebhookAttempt)
    if endpoint_id is not None:
        query = query.where(WebhookAttempt.endpoint_id == endpoint_id)
    if outcome == "ok":
        query = query.where(WebhookAttempt.status.between(200, 299))
    elif outcome == "failed":
        query = query.where((WebhookAttempt.status.is_(None))
                            | ~WebhookAttempt.status.between(200, 299))
    elif outcome is not None:
        raise ValidationError("outcome", f"one of {', '.join(OUTCOMES)}")
    if status is not None:
        query = query.where(WebhookAttempt.status == inputs.integer(status, "status",
                                                                    high=999))
    return query


def attempts(session: Session, endpoint_id: int | None = None, *, outcome: str | None = None,
             status: int | None = None, limit: int = 100) -> list[WebhookAttempt]:
    """The newest attempts that `attempts_query` selects."""
    query = attempts_query(endpoint_id, outcome=outcome, status=status)
    return list(session.scalars(query.order_by(WebhookAttempt.id.desc()).limit(limit)))


def _state(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the audit log keeps of an endpoint (never its secret)."""
    return {"url": endpoint.url, "events": list(endpoint.events),
            "description": endpoint.description, "enabled": endpoint.enabled,
            "disabled_reason": endpoint.disabled_reason}


def _changed(session: Session) -> None:
    """This process's `Interest` reads the endpoints again once the change is committed."""
    interest = runtime_of(session).filters.get(PLUGIN)
    if isinstance(interest, Interest):
        orm_event.listen(session, "after_commit", lambda _session: interest.expire(),
                         once=True)


class Interest:
    """The webhooks plugin's `abonent_delivery_filter`: the notification hooks some
    enabled endpoint wants, read from the database at most every `refresh_seconds` (in
    the emitting transaction, as SQLite allows one writer) and a set look-up per event
    in between, so `emit_many` keeps its speed.

    The window is why an endpoint made or enabled in another process (the admin's, while
    the billing run emits in the scheduler's) gets events from at most `refresh_seconds`
    after it was saved, and one disabled there gets deliveries for that long (each skips
    it when sent). In the process that saved it the change counts from its commit on.
    That is acceptable: an integrator sets an endpoint up before relying on it, and
    every event stays in the outbox, so one missed in the window can be replayed.
    """

    def __init__(self, refresh_seconds: float):
        self.refresh_seconds = refresh_seconds
        self._hooks: frozenset[str] = frozenset()
        self._until = 0.0  # monotonic time the set is good until

    def __call__(self, session: Session, hook_name: str) -> bool:
        if time.monotonic() >= self._until:
            self._hooks = hooks_wanted(session.scalars(
                select(WebhookEndpoint.events).where(WebhookEndpoint.enabled.is_(True))))
            self._until = time.monotonic() + self.refresh_seconds
        return hook_name in self._hooks

    def expire(self) -> None:
        self._until = 0.0


def hooks_wanted(event_lists: Iterable[list[str]]) -> frozenset[str]:
    names: set[str] = set()
    for events in event_lists:
        names.update(EVENTS if EVERY in events else events)
    return frozenset(f"abonent_{name}" for name in names)
