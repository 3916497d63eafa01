"""Fixtures for the Wialon plugin's tests: a live emulator and clients pointed at it.

Every test gets its own emulator on a free port, so faults injected by one
test cannot leak into another.
"""

import pytest

from plugin_wialon.client import Backoff, WialonClient
from plugin_wialon.emulator import WialonEmulator, load_demo

# Wialon tokens are 72 characters.
WIALON_TOKEN = "5dce19710a5e26ab8b7b8986cb3c49e58c3b9d6af0d2f30e5d5b1b2c6c8d8e0a12345678"
WIALON_USER = "billing"
# Retry quickly in tests; the shape of the schedule is what matters.
FAST_BACKOFF = Backoff(base=0.01, cap=0.1, attempts=20)


@pytest.fixture
def wialon_token() -> str:
    return WIALON_TOKEN


@pytest.fixture
def wialon_emulator():
    """An emulator with the demo seed: account 777 with 6 units and 1001..1300."""
    with WialonEmulator({WIALON_TOKEN: WIALON_USER}) as emulator:
        load_demo(emulator.state)
        yield emulator


@pytest.fixture
def make_wialon_client(wialon_emulator):
    """Build WialonClients against ``wialon_emulator``; all are closed afterwards."""
    clients = []

    def make(token: str = WIALON_TOKEN, **options) -> WialonClient:
        options.setdefault("backoff", FAST_BACKOFF)
        client = WialonClient(wialon_emulator.url, token, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
