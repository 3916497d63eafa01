"""Deliveries made at once by two workers, each with a pool of four, while the platform
answers 503s and loses answers: block, unblock, block of each account still land on the
platform in that order (order per plugin and account is kept under concurrency)."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from core.blocking import lift_block, set_block
from core.models import Delivery
from plugins.outbox import Outbox


@pytest.fixture
def abonent_config():
    return {"outbox": {"backoff_base": "0", "max_attempts": 1000, "poll_interval": "0.05"},
            "plugins": {"tv24": {"connect_timeout": "1", "read_timeout": "2",
                                 "concurrency": 4}}}


def _pending(runtime) -> int:
    with runtime.session() as s:
        return s.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.plugin == "tv24", Delivery.state == "pending"))


def _pause_calls(tv, user_id: int) -> list[str]:
    """The platform's applied pause and unpause calls of a user, a repeat of the same
    call (an at-least-once re-send after a lost answer) counted once."""
    calls = [r.method for r in tv.emulator.state.requests
             if r.status < 300 and r.path.startswith(f"/v2/users/{user_id}/pauses")]
    return [c for n, c in enumerate(calls) if n == 0 or calls[n - 1] != c]


def test_block_unblock_block_land_in_order_across_workers_with_faults(tv, fault_proxy):
    proxy = fault_proxy(tv.emulator.url)
    tv.configure(api_url=proxy.url)
    accounts = [tv.account(f"7900777{n:04d}", tv.tariff(base=2, addons=())) for n in range(8)]
    for account in accounts:
        for change in (set_block, lift_block, set_block):
            with tv.runtime.session() as s:
                change(s, account.id, "admin")
    proxy.error(status=503, times=6, match="POST /v2/users/")
    proxy.lose_answer(times=4, match="DELETE /v2/users/")
    stop = threading.Event()
    workers = [threading.Thread(target=Outbox(tv.runtime, f"w{n}").run_forever, args=(stop,))
               for n in range(2)]
    for worker in workers:
        worker.start()
    try:
        deadline = time.monotonic() + 60
        while _pending(tv.runtime) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert {c.fault for c in proxy.calls} == {"error", "lose_answer", None}
    with tv.runtime.session() as s:
        assert s.scalars(select(Delivery.state).where(Delivery.plugin == "tv24")).all() == [
            "done"] * len(s.scalars(select(Delivery.id).where(Delivery.plugin == "tv24")).all())
    for account in accounts:
        user = tv.user(account.id)
        assert _pause_calls(tv, user.id) == ["POST", "DELETE", "POST"], account.login
        assert tv.packets(account.id, "paused") == [2]
