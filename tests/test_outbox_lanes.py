"""Delivery lanes: a plugin's deliveries are made at once within its pool
(`[plugins.<name>] concurrency`), a hanging plugin holds back no other plugin and at most
its lane's capacity of its own accounts, the settings are checked at start, and a
RetryLater answered for longer than `outbox.retry_later_max_seconds` is a dead letter."""
from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from core import RetryLater
from core.clock import frozen, now
from core.config import validate_settings
from core.errors import ConfigError
from core.models import Delivery
from plugins.host import build_runtime
from plugins.outbox import Outbox
from plugins.testing import RecordingPlugin
from fleet import wait_for


class Gate(RecordingPlugin):
    """Records events; `account_created` waits at a barrier of `parties` calls (made at
    once, or the barrier breaks) or, with `hang`, until the test opens `released`."""

    def __init__(self, parties: int = 1, hang: bool = False, **kw):
        super().__init__(**kw)
        self.barrier = threading.Barrier(parties, timeout=5)
        self.hang, self.released = hang, threading.Event()
        self.entered = []

    def abonent_account_created(self, event, ctx):
        self.entered.append(event.account_id)
        if self.hang:
            self.released.wait(30)
        else:
            self.barrier.wait()
        super().abonent_account_created(event, ctx)


@pytest.fixture
def tv():
    return Gate(parties=4, agent_types=["tv"])


@pytest.fixture
def stuck():
    return Gate(hang=True, agent_types=["stuck"])


@pytest.fixture
def abonent_plugins(tv, stuck):
    return [("tv", tv), ("stuck", stuck)]


@pytest.fixture
def abonent_config():
    return {"plugins": {"tv": {"concurrency": 4}, "stuck": {"concurrency": 2}}}


def _states(runtime, plugin):
    with runtime.session() as s:
        return [d.state for d in s.scalars(select(Delivery).where(Delivery.plugin == plugin)
                                           .order_by(Delivery.id))]


def test_a_batch_is_delivered_at_once_within_the_pool(runtime, factory, tv, drain):
    """Four accounts' first deliveries meet at a barrier of four: one after the other,
    the first would wait alone until the barrier broke."""
    agent = factory.agent(type="tv")
    accounts = [factory.account(agent=agent) for _ in range(4)]
    drain()
    assert sorted(tv.entered) == sorted(a.id for a in accounts)
    assert _states(runtime, "tv") == ["done"] * 8
    for account in accounts:  # order per account kept
        assert [e.name for e in tv.events if e.account_id == account.id] == [
            "account_created", "subscription_assigned"]


def test_a_hanging_plugin_holds_back_no_other(runtime, factory, tv, stuck):
    """A running worker: the stuck plugin's lane fills (3 × concurrency 2 = 6 accounts
    held) while the tv plugin's deliveries all go through."""
    tv.barrier = threading.Barrier(1)
    tv_agent, stuck_agent = factory.agent(type="tv"), factory.agent(type="stuck")
    for _ in range(8):
        factory.account(agent=tv_agent)
        factory.account(agent=stuck_agent)
    outbox, stop = Outbox(runtime, "w"), threading.Event()
    worker = threading.Thread(target=outbox.run_forever, args=(stop,))
    worker.start()
    try:
        wait_for(lambda: _states(runtime, "tv") == ["done"] * 16, 30, "the tv deliveries")
        assert len(stuck.entered) == 2  # its pool: two calls hang, four more wait queued
        with runtime.session() as s:
            leased = s.scalars(select(Delivery).where(Delivery.plugin == "stuck",
                                                      Delivery.locked_until.is_not(None))).all()
        assert len(leased) == 6
    finally:
        stuck.released.set()
        wait_for(lambda: _states(runtime, "stuck") == ["done"] * 16, 30, "the stuck plugin")
        stop.set()
        worker.join()


@pytest.mark.parametrize("section, message", [
    ({"concurrency": "0"}, "plugins.tv.concurrency: must be at least 1"),
    ({"concurrency": "many"}, "plugins.tv.concurrency"),
    ({"rate_limit": "0"}, "plugins.tv.rate_limit: must be at least 0.01"),
    ({"colour": "red"}, "plugins.tv: plugin 'tv' has no settings"),
])
def test_delivery_settings_are_checked_at_start(tv, section, message):
    settings = validate_settings({"plugins": {"tv": section}}, "test")
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_runtime(settings, extra_plugins=[("tv", tv)], load_entrypoints=False)


def test_rate_limit_spaces_the_calls(runtime, factory, tv):
    """10 calls a second: four deliveries made at once by the pool still take 0.3 s."""
    runtime.settings.plugin_sections["tv"] = {"concurrency": 4, "rate_limit": "10"}
    tv.barrier = threading.Barrier(1)
    agent = factory.agent(type="tv")
    for _ in range(4):
        factory.account(agent=agent)
    outbox = Outbox(runtime, "w")
    batch = outbox.claim(plugins=["tv"])
    assert outbox.lane("tv").spacing == pytest.approx(0.1)
    started = now()
    outbox._dispatch(batch)
    wait_for(lambda: len(tv.entered) == 4, 10, "four calls")
    assert now() - started >= timedelta(seconds=0.29)
    outbox.drain()


def test_retry_later_has_a_ceiling(runtime, factory, stuck, drain):
    """RetryLater is not a failed attempt, but an event older than
    outbox.retry_later_max_seconds whose plugin still says "later" is a dead letter."""
    stuck.hang = False
    stuck.fail = RetryLater("503 from the platform", after=60)
    factory.account(agent=factory.agent(type="stuck"))
    drain()
    assert _states(runtime, "stuck") == ["pending", "pending"]
    ceiling = runtime.settings.section("outbox")["retry_later_max_seconds"]
    with frozen(now() + timedelta(seconds=ceiling - 120)):
        drain()
        assert _states(runtime, "stuck")[0] == "pending"  # not yet: still retried
    with frozen(now() + timedelta(seconds=ceiling + 1)):
        drain()
    with runtime.session() as s:
        head = s.scalars(select(Delivery).where(Delivery.plugin == "stuck")
                         .order_by(Delivery.id)).first()
    assert head.state == "dead"
    assert head.last_error.startswith(f"retry later for more than {ceiling} s since the event")
    assert head.last_error.endswith("503 from the platform")


def test_retry_later_backs_off_with_the_age_of_the_event(runtime, factory, stuck, drain):
    """A RetryLater without a delay of its own waits longer the longer the platform has
    been away (its attempts are not counted, so they cannot pace it): seconds at first,
    a quarter of the event's age later, never more than outbox.backoff_max."""
    stuck.hang = False
    stuck.fail = RetryLater("connection refused")
    factory.account(agent=factory.agent(type="stuck"))
    outbox = Outbox(runtime, "w")
    outbox.config = {**outbox.config, "backoff_base": 2, "backoff_max": 3600}  # the defaults

    def wait_after_attempt(at) -> float:
        with frozen(at):
            outbox.run_once()
        with runtime.session() as s:
            head = s.scalars(select(Delivery).where(Delivery.plugin == "stuck")
                             .order_by(Delivery.id)).first()
            assert (head.state, head.attempts) == ("pending", 0)
            return (head.next_attempt_at - at).total_seconds()

    start = now()
    assert 1 <= wait_after_attempt(start) <= 2  # backoff_base 2 s, jitter 0.5–1
    assert 450 <= wait_after_attempt(start + timedelta(hours=1)) <= 900
    assert 1800 <= wait_after_attempt(start + timedelta(days=1)) <= 3600


def test_a_stopped_worker_writes_the_calls_under_way_and_gives_back_the_rest(
        runtime, factory, stuck):
    """Stopped while two calls hang: it gives back what no thread started (no attempt
    counted), waits for the two calls and writes them, instead of leaving them to be sent
    again by another worker once their leases run out."""
    agent = factory.agent(type="stuck")
    for _ in range(4):
        factory.account(agent=agent)
    outbox, stop = Outbox(runtime, "w"), threading.Event()
    worker = threading.Thread(target=outbox.run_forever, args=(stop,))
    worker.start()
    wait_for(lambda: len(stuck.entered) == 2, 10, "two calls under way")
    stop.set()
    threading.Timer(0.5, stuck.released.set).start()
    worker.join()
    with runtime.session() as s:
        heads = s.scalars(select(Delivery).where(Delivery.plugin == "stuck",
                                                 Delivery.attempts > 0)).all()
        given_back = s.scalars(select(Delivery).where(Delivery.plugin == "stuck",
                                                      Delivery.attempts == 0)).all()
    assert sorted(d.account_id for d in heads) == sorted(stuck.entered)
    assert [d.state for d in heads] == ["done", "done"]
    assert all(d.state == "pending" and d.locked_until is None for d in given_back)


def test_a_busy_worker_asks_for_an_idle_plugins_deliveries_once_a_poll(runtime, factory, tv):
    """Forty tv deliveries take several steps of the worker (it claims whenever a third
    of the lane is free); the stuck plugin, with nothing due, is asked (a claim: a
    transaction) once per `poll_interval` (1 s here), not at every step."""
    tv.barrier = threading.Barrier(1)
    agent = factory.agent(type="tv")
    for _ in range(20):
        factory.account(agent=agent)
    asked = {"tv": 0, "stuck": 0}

    def count(conn, cursor, statement, parameters, context, executemany):
        if "UPDATE delivery SET attempts=(delivery.attempts + " in statement:  # a claim
            values = parameters.values() if isinstance(parameters, dict) else parameters
            for plugin in asked:
                asked[plugin] += plugin in values
    event.listen(runtime.engine, "before_cursor_execute", count)
    outbox, stop = Outbox(runtime, "w"), threading.Event()
    outbox.config = {**outbox.config, "poll_interval": 1}
    worker = threading.Thread(target=outbox.run_forever, args=(stop,))
    started = time.monotonic()
    worker.start()
    try:
        wait_for(lambda: _states(runtime, "tv") == ["done"] * 40, 30, "the tv deliveries")
        seconds = time.monotonic() - started
    finally:
        stop.set()
        worker.join()
        event.remove(runtime.engine, "before_cursor_execute", count)
    assert asked["tv"] >= 4  # steps: 40 deliveries, at most 12 (3 × concurrency) a claim…
    assert asked["stuck"] <= 1 + int(seconds)  # …the idle plugin asked once a second
