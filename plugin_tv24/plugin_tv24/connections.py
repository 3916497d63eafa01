"""One `Tv24Client` per (thread, agent settings), kept between deliveries.

A client holds a `core.PlatformHTTP` pool, so consecutive calls of one outbox worker reuse a
kept-alive connection instead of opening one per delivery. Pools are not shared
between threads (the web server's threads, several workers in one process): each thread
has its own. A client is replaced when its agent's URL, token or the timeouts change.
"""
from __future__ import annotations

import threading
from typing import Any

from plugin_tv24.agent import AgentSettings
from plugin_tv24.client import Tv24Client

_local = threading.local()


def timeouts(config: dict[str, Any]) -> tuple[float, float]:
    """(connect, read) seconds from the plugin's configuration section."""
    return float(config["connect_timeout"]), float(config["read_timeout"])


def client_for(settings: AgentSettings, timeout: tuple[float, float]) -> Tv24Client:
    clients: dict[int, tuple[tuple, Tv24Client]] = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    key = (settings.api_url, settings.token, timeout)
    known = clients.get(settings.agent_id)
    if known is not None and known[0] == key:
        return known[1]
    if known is not None:
        known[1].close()
    client = Tv24Client(settings.api_url, settings.token, timeout=timeout)
    clients[settings.agent_id] = (key, client)
    return client


def forget() -> None:
    """Close and drop this thread's clients (tests; a worker that wants fresh connections)."""
    for _, client in getattr(_local, "clients", {}).values():
        client.close()
    _local.clients = {}
