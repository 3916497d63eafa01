"""The platform down for a while (503s, then answers too late for the client's timeout,
acting on them anyway) while accounts are created, blocked and unblocked: once it is back
everything converges, in order, with no duplicate user or subscription."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from core.blocking import lift_block, set_block
from core.models import Delivery
from plugin_tv24.reconcile import reconcile
from plugins.outbox import Outbox

DELAY = 0.6  # the platform's answer time while it struggles; the client waits 0.3 s


@pytest.fixture
def abonent_config():
    return {"outbox": {"max_attempts": 1000},
            "plugins": {"tv24": {"connect_timeout": "0.5", "read_timeout": "0.3"}}}


def rounds(outbox: Outbox, n: int) -> None:
    for _ in range(n):
        outbox.run_once()


def test_an_outage_converges_in_order_without_duplicates(tv):
    faults, state = tv.emulator.faults, tv.emulator.state
    outbox = Outbox(tv.runtime, "w")
    faults.fail_next(100_000, status=503)
    accounts = [tv.account(f"7900555{n:04d}") for n in range(6)]
    rounds(outbox, 2)
    for account in accounts[:4]:
        with tv.runtime.session() as s:
            set_block(s, account.id, "admin")
    for account in accounts[:2]:
        with tv.runtime.session() as s:
            lift_block(s, account.id, "admin")
    rounds(outbox, 2)
    assert state.users == {}
    faults.clear()
    faults.delay_next(100_000, seconds=DELAY)  # now it acts, but answers after the timeout
    rounds(outbox, 3)
    time.sleep(DELAY + 0.2)  # let the late answers land before the platform recovers
    faults.clear()
    tv.drain()

    with tv.runtime.session() as s:
        undelivered = s.scalars(select(Delivery).where(Delivery.state != "done")).all()
        assert undelivered == []
        # the outage was felt (the 503s below) but cost no attempt: RetryLater
        assert {d.attempts for d in s.scalars(select(Delivery))} == {1}
    statuses = {r.status for r in state.requests}
    assert {503, 201} <= statuses
    assert sorted(u.phone for u in state.users.values()) == sorted(a.login for a in accounts)
    for number, account in enumerate(accounts):
        user = tv.user(account.id)
        assert [s.packet.id for s in state.user_subscriptions(user.id)] == [2]
        expected = "paused" if number in (2, 3) else "active"
        assert tv.packets(account.id, expected) == [2], (number, expected)
        done = [(r.method, r.path.replace(f"/{user.id}", "/U")) for r in state.requests
                if r.status < 300 and (r.path.startswith(f"/v2/users/{user.id}/")
                                       or (r.path == "/v2/users" and r.method == "POST"
                                           and r.body["phone"] == account.login))]
        order = [call for call in done if call[0] == "POST" or "pauses" in call[1]]
        assert order[:2] == [("POST", "/v2/users"), ("POST", "/v2/users/U/subscriptions")], order
        if number < 2:
            pause = order.index(("POST", "/v2/users/U/pauses"))
            assert ("DELETE", "/v2/users/U/pauses/delete") in order[pause + 1:]
    assert reconcile(tv.runtime.context("tv24")).drift == []
