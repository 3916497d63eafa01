"""One `JamboxClient` per (thread, agent settings), kept between calls.

A client holds a `requests.Session` (a kept-alive connection); sessions are not shared
between threads (the outbox's lanes, the web server's threads), so each thread has its
own. A client is replaced when its agent's URL, login, password or timeouts change.
Deliveries and the reconciliation read the SMS afresh (`cached=False`); the account card
and the lists may use the agent's read cache.
"""
from __future__ import annotations

import threading

from plugin_jambox.agent import AgentSettings
from plugin_jambox.client import JamboxClient

_local = threading.local()


def client_for(settings: AgentSettings, cached: bool = False,
               timeout: float | None = None) -> JamboxClient:
    clients: dict[tuple, tuple[tuple, JamboxClient]] = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    lifetime = settings.cache_lifetime if cached and settings.cache else 0
    key = (settings.sms_url, settings.login, settings.password, timeout or settings.timeout,
           settings.events_timeout, lifetime)
    slot = (settings.agent_id, cached, timeout)
    known = clients.get(slot)
    if known is not None and known[0] == key:
        return known[1]
    if known is not None:
        known[1].close()
    client = JamboxClient(settings.sms_url, settings.login, settings.password,
                          timeout=timeout or settings.timeout,
                          events_timeout=settings.events_timeout, cache_lifetime=lifetime)
    clients[slot] = (key, client)
    return client


def forget() -> None:
    """Close and drop this thread's clients (tests; a worker that wants fresh connections)."""
    for _, client in getattr(_local, "clients", {}).values():
        client.close()
    _local.clients = {}
