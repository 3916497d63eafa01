"""The outbox: at least once, one delivery per (event, plugin), in order per (plugin,
contract), back-off, RetryLater, dead letters, retry by hand, leases kept by a heartbeat,
and a worker killed with SIGKILL mid-batch losing nothing."""
from __future__ import annotations

import re
import signal
import sys
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from core import RetryLater
from core.config import validate_settings
from core.errors import ConfigError
from core.models import Delivery
from core.blocking import lift_block, set_block
from core.services.payments import record_payment
from fleet import Fleet, wait_for
from plugins.outbox import Outbox, counts, list_deliveries, retry
from plugins.testing import RecordingPlugin
from support import PROCS

sys.path.insert(0, str(PROCS))
import fileplugin  # noqa: E402  (the plugin the worker processes load by entry point)


@pytest.fixture
def tv():
    return RecordingPlugin(agent_types=["tv"])


@pytest.fixture
def exporter():
    return RecordingPlugin()


@pytest.fixture
def abonent_plugins(tv, exporter):
    return [("tv", tv), ("exporter", exporter), ("fileplugin", fileplugin)]


@pytest.fixture
def delivered_path(tmp_path):
    return tmp_path / "delivered.jsonl"


@pytest.fixture
def abonent_config(delivered_path):
    return {"outbox": {"max_attempts": 3},
            "plugins": {"fileplugin": {"path": str(delivered_path)}}}


def test_fan_out_follows_agent_types(runtime, factory, tv, exporter, drain):
    """A plugin with agent types hears only its own accounts; one without hears all."""
    factory.account(agent=factory.agent(type="tv"))
    factory.account(agent=factory.agent(type="generic"))
    drain()
    assert tv.names() == ["account_created", "subscription_assigned"]
    assert sorted(exporter.names()) == ["account_created"] * 2 + ["subscription_assigned"] * 2
    with runtime.session() as s:
        assert s.scalar(select(func.count()).select_from(Delivery)) == 6


def test_failing_plugin_holds_its_account_only(runtime, factory, tv):
    agent = factory.agent(type="tv")
    stuck = factory.account(agent=agent)
    tv.fail = lambda e: RuntimeError("platform says no") if e.account_id == stuck.id else None
    flowing = factory.account(agent=agent)
    outbox = Outbox(runtime, "w")

    def stuck_deliveries():
        with runtime.session() as s:
            return sorted((d.id, d.state, d.attempts, d.last_error)
                          for d, _ in list_deliveries(s, plugin="tv", account_id=stuck.id))

    outbox.run_once()
    outbox.run_once()
    # two failed attempts of the stuck account's first event; its second waits untouched,
    # while the other account's two events went through
    (head, head_state, head_attempts, error), (_, _, waiting_attempts, _) = stuck_deliveries()
    assert (head_state, head_attempts, waiting_attempts) == ("pending", 2, 0)
    assert "platform says no" in error
    assert [e.account_id for e in tv.events] == [flowing.id, flowing.id]
    outbox.run_once()  # third failure: dead letter
    assert stuck_deliveries()[0][1:3] == ("dead", 3)
    # the dead letter no longer holds the queue back; retry by hand delivers it
    tv.fail = None
    outbox.drain()
    assert [e.name for e in tv.events if e.account_id == stuck.id] == ["subscription_assigned"]
    with runtime.session() as s:
        assert retry(s, [head]) == 1
    outbox.drain()  # the retried dead letter arrives after its successor
    assert [e.name for e in tv.arrivals if e.account_id == stuck.id] == [
        "subscription_assigned", "account_created"]
    with runtime.session() as s:
        assert counts(s)[("tv", "done")] == 4


def test_order_is_kept_while_retrying(runtime, factory, tv, drain):
    account = factory.account(agent=factory.agent(type="tv"))
    attempts = []

    def flaky(event):
        attempts.append(event.name)
        return RuntimeError("timeout") if len(attempts) == 1 else None
    tv.fail = flaky
    with runtime.session() as s:
        from core.services.accounts import trash_account
        trash_account(s, account.id)
    drain()
    assert tv.names() == ["account_created", "subscription_assigned", "account_trashed"]
    assert tv.events[0].attempt == 2


def test_a_contracts_events_arrive_in_order_across_accounts_and_payments(
        runtime, factory, exporter, drain):
    """Block, payment, lift of one contract reach a plugin in that order, although the
    payment is about the contract (no account) and the block's first attempt fails: the
    ordering key is the contract. Another contract's events flow meanwhile."""
    contract = factory.contract()
    first, second = (factory.account(contract=contract) for _ in range(2))
    other = factory.account()
    drain()
    exporter.arrivals.clear()
    failed = []

    def once(event):
        if event.name == "block_set" and not failed:
            failed.append(event.id)
            return RuntimeError("SMS gateway timeout")
        return None
    exporter.fail = once
    with runtime.session() as s:
        set_block(s, first.id, "admin")
        record_payment(s, contract.id, "10.00", source="t", external_id="p1")
        lift_block(s, first.id, "admin")
        set_block(s, second.id, "admin")
        record_payment(s, other.contract_id, "5.00", source="t", external_id="p2")
    drain()
    told = {"block_set", "block_lifted", "payment_received"}  # what an SMS notifier sends
    mine = [(e.name, e.account_id) for e in exporter.arrivals
            if e.contract_id == contract.id and e.name in told]
    assert mine == [("block_set", first.id), ("payment_received", None),
                    ("block_lifted", first.id), ("block_set", second.id)]
    assert len(failed) == 1
    assert [e.name for e in exporter.arrivals if e.contract_id == other.contract_id] == [
        "payment_received"]


def test_retry_later_does_not_count_as_failure(runtime, factory, tv, exporter):
    factory.account(agent=factory.agent(type="tv"))
    tv.fail = RetryLater("NAS unreachable", after=3600)
    outbox = Outbox(runtime, "w")
    outbox.drain()
    assert len(exporter.events) == 2 and tv.events == []
    with runtime.session() as s:
        head, waiting = s.scalars(select(Delivery).where(Delivery.plugin == "tv")
                                  .order_by(Delivery.id)).all()
        assert (head.state, head.attempts) == ("pending", 0)
        assert head.last_error == "retry later: NAS unreachable"
        assert head.next_attempt_at.timestamp() - time.time() > 3000
        assert (waiting.state, waiting.attempts) == ("pending", 0)


def test_each_event_once_per_plugin(runtime, factory, tv, drain):
    factory.account(agent=factory.agent(type="tv"))
    outbox = Outbox(runtime, "w")
    claimed = outbox.claim()
    assert outbox.claim() == []  # leased: no second worker gets them
    # only the head of each plugin's queue for the account: the first event, once per plugin
    assert sorted((c.plugin, c.event.name) for c in claimed) == [
        ("exporter", "account_created"), ("tv", "account_created")]
    outbox.release(claimed)
    assert drain() == 4
    assert tv.names() == ["account_created", "subscription_assigned"]
    assert drain() == 0


def _pay(runtime, contract_id, count):
    with runtime.session() as s:
        for i in range(count):
            record_payment(s, contract_id, "1.00", source="t", external_id=f"{contract_id}-{i}")


def _fleet(tmp_path, url, lease=2, delay="0.02", concurrency=8) -> Fleet:
    fleet = Fleet(tmp_path, url)
    fleet.configure(delay=delay, concurrency=concurrency, lease_seconds=lease,
                    heartbeat_seconds=lease / 4, batch_size=50)
    return fleet


def _finished(runtime) -> bool:
    with runtime.session() as s:
        return s.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.plugin == "fileplugin", Delivery.state != "done")) == 0


def test_killed_worker_loses_nothing(runtime, factory, abonent_database, tmp_path):
    """SIGKILL a real worker mid-batch; a restarted worker finishes the queue."""
    contracts = [factory.contract() for _ in range(4)]
    for contract in contracts:
        _pay(runtime, contract.id, 25)
    fleet = _fleet(tmp_path, abonent_database.url)
    try:
        first = fleet.start("worker", "--id", "doomed")
        wait_for(lambda: len(fleet.delivered()) >= 20, 60, "deliveries", [first])
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert len(fleet.delivered()) < 100
        second = fleet.start("worker", "--id", "survivor")
        wait_for(lambda: _finished(runtime), 60, "the restarted worker to finish the queue",
                 [second])
    finally:
        fleet.end()
    events = {row["event"] for row in fleet.delivered()}
    assert len(events) == 100  # every payment event delivered at least once
    assert {row["pid"] for row in fleet.delivered()} == {first.pid, second.pid}


@pytest.mark.postgresql_only
def test_two_workers_share_the_queue(runtime, factory, abonent_database, tmp_path):
    """Two workers on PostgreSQL: SKIP LOCKED splits the work; nothing delivered twice."""
    for _ in range(8):
        _pay(runtime, factory.contract().id, 10)
    # 80 deliveries, two at a time, 0.2 s each: 8 s for one worker, time for both to start
    fleet = _fleet(tmp_path, abonent_database.url, lease=30, delay="0.2", concurrency=2)
    try:
        for i in range(2):
            fleet.start("worker", "--id", f"w{i}")
        wait_for(lambda: len(fleet.delivered()) >= 80, 60, "80 deliveries")
    finally:
        fleet.end()
    rows = fleet.delivered()
    assert sorted(r["event"] for r in rows) == sorted({r["event"] for r in rows})
    assert len({r["pid"] for r in rows}) == 2


def test_heartbeat_keeps_a_batch_slower_than_its_lease(runtime, factory):
    """A batch that takes longer than the lease stays its worker's: the heartbeat renews
    the leases, so a second worker claims nothing and nothing is sent twice."""
    runtime.plugin_configs["fileplugin"] = {**runtime.plugin_configs["fileplugin"],
                                            "delay": Decimal("1.6")}
    for _ in range(6):
        _pay(runtime, factory.contract().id, 1)
    slow, other = Outbox(runtime, "slow"), Outbox(runtime, "other")
    slow.config = {**slow.config, "lease_seconds": 1, "heartbeat_seconds": Decimal("0.2")}
    delivering = threading.Thread(target=slow.run_once)
    delivering.start()
    try:
        time.sleep(1.3)  # 1.6 s a call, made at once: past the first lease, not done
        assert delivering.is_alive()
        assert other.claim() == []
    finally:
        delivering.join()
    assert other.drain() == 0
    with runtime.session() as s:
        deliveries = s.scalars(select(Delivery).where(Delivery.plugin == "fileplugin")).all()
    assert [(d.state, d.attempts, d.locked_by) for d in deliveries] == [("done", 1, "slow")] * 6


@pytest.mark.parametrize("outbox, message", [
    ({"heartbeat_seconds": "4"}, "outbox.heartbeat_seconds: must be at most a third of "
                                 "outbox.lease_seconds (10)"),
    ({"lease_seconds": "3", "heartbeat_seconds": "1.5"}, "outbox.heartbeat_seconds"),
    ({"heartbeat_seconds": "0"}, "outbox.heartbeat_seconds: must be at least 0.1"),
])
def test_lease_settings_are_checked_at_start(outbox, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_settings({"outbox": outbox}, "test")
    assert validate_settings({}, "test").section("outbox")["lease_seconds"] == 10


def test_manual_retry_of_all_dead(runtime, factory, tv, drain):
    tv.fail = RuntimeError("down")
    for _ in range(2):
        factory.account(agent=factory.agent(type="tv"))
    drain()
    with runtime.session() as s:
        # hurry the back-off along: every failing delivery is due now
        s.execute(update(Delivery).values(next_attempt_at=Delivery.next_attempt_at))
    for _ in range(3):
        drain()
    with runtime.session() as s:
        assert counts(s)[("tv", "dead")] == 4  # heads die; the next ones follow and die
        assert retry(s, plugin="tv") == 4
    tv.fail = None
    drain()
    assert len(tv.events) == 4


def test_rejected_is_dead_at_once(runtime, factory, tv, drain):
    from core import Rejected
    factory.account(agent=factory.agent(type="tv"))
    tv.fail = lambda e: Rejected("HTTP 400: phone: invalid") if e.name == "account_created" else None
    drain()
    with runtime.session() as s:
        head = s.scalars(select(Delivery).where(Delivery.plugin == "tv").order_by(Delivery.id)).first()
        assert (head.state, head.attempts) == ("dead", 1)
        assert head.last_error == "rejected: HTTP 400: phone: invalid"
    assert tv.names() == ["subscription_assigned"]
