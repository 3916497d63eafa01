"""Signed webhooks (core.webhooks, core.webhooks_delivery, plugins/webhooks.py): events
reach a real receiver (tests/webhook_receiver.py) in order, signed, once each; faults are
retried or dead-lettered; the outbox writes deliveries only for wanted events."""
from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import ValidationError
from core.models import WebhookAttempt
from core.webhooks import check_url, create_endpoint, update_endpoint
from webhook_receiver import Receiver, receivers  # noqa: F401 (a fixture)


@pytest.fixture
def endpoint(runtime, settle):
    """endpoint(receiver, events) → the id of a new endpoint for `receiver`, whose secret
    the receiver then checks signatures with."""
    def make(receiver: Receiver, events) -> int:
        settle()
        with runtime.session(actor="test") as session:
            made = create_endpoint(session, receiver.url, events)
        receiver.secret = made.secret
        return made.endpoint.id
    return make


def test_events_reach_their_endpoints_in_order_signed_once_each(
        runtime, factory, receivers, endpoint, block, lift, pay, drain, deliveries):
    billing, payments = receivers(), receivers()
    endpoint(billing, ["block_set", "block_lifted", "payment_received"])
    endpoint(payments, "payment_received")
    account = factory.account()  # account_created: no endpoint wants it
    block(account)
    lift(account)
    block(account)
    pay(account.contract_id, Decimal("150.00"))
    drain()

    assert [r.type for r in billing.received] == [
        "block_set", "block_lifted", "block_set", "payment_received"]
    assert all(r.signed and r.answer == 200 for r in billing.received)
    assert len({r.body["id"] for r in billing.received}) == 4
    first = billing.received[0]
    assert first.body["account_id"] == account.id
    assert first.body["data"]["account"]["login"] == account.login
    assert first.headers["Abonent-Event-Id"] == str(first.body["id"])
    assert first.headers["Content-Type"] == "application/json"
    assert [r.body["data"]["payment"]["amount"] for r in payments.received] == ["150.00"]
    assert billing.received[-1].body["id"] == payments.received[0].body["id"]
    # one delivery per wanted event; none for account_created, nothing left undone
    assert [(d.event, d.state) for d in deliveries("webhooks")] == [
        ("block_set", "done"), ("block_lifted", "done"), ("block_set", "done"),
        ("payment_received", "done")]


def test_no_endpoint_wants_it_no_delivery(runtime, factory, receivers, endpoint, block,
                                          deliveries, settle):
    account = factory.account()
    block(account)
    assert deliveries("webhooks") == []
    hooked = endpoint(receivers(), ["block_set"])
    block(factory.account())
    assert [d.event for d in deliveries("webhooks")] == ["block_set"]
    with runtime.session(actor="test") as session:
        update_endpoint(session, hooked, {"enabled": False, "disabled_reason": "moved"})
    block(factory.account())
    assert len(deliveries("webhooks")) == 1


@pytest.mark.sqlite_only
def test_faults_are_retried_or_dead_lettered(runtime, factory, receivers, endpoint, block,
                                             drain, dead_letters):
    flaky, steady = receivers(), receivers()
    flaky_id = endpoint(flaky, ["block_set"])
    steady_id = endpoint(steady, ["block_set"])

    flaky.script(500)  # then 200: retried, the steady endpoint not sent to again
    block(factory.account())
    drain()
    assert [r.answer for r in flaky.received] == [500, 200]
    assert [r.answer for r in steady.received] == [200]

    flaky.script("drop")  # read, then the connection closed without an answer
    block(factory.account())
    drain()
    dropped, retried = flaky.received[2:]
    assert (dropped.answer, retried.answer) == ("drop", 200)
    assert dropped.headers["Idempotency-Key"] == retried.headers["Idempotency-Key"]
    assert dropped.headers["Idempotency-Key"].endswith(f":webhooks:{flaky_id}")
    assert dropped.headers["Abonent-Event-Id"] == retried.headers["Abonent-Event-Id"]

    flaky.script(410, 302)  # refused for good: dead letters with the answers; steady has them
    contract = factory.contract()  # one contract: its events go out one after the other
    block(factory.account(contract=contract))
    block(factory.account(contract=contract))
    drain()
    assert [r.answer for r in flaky.received[4:]] == [410, 302]  # the redirect not followed
    assert len(steady.received) == 4
    gone, moved = dead_letters("webhooks")
    assert f"endpoint {flaky_id}" in gone.last_error
    assert "answered 410: gone for good" in gone.last_error
    assert "answered 302" in moved.last_error

    with runtime.session() as session:
        log = session.query(WebhookAttempt).order_by(WebhookAttempt.id).all()
    flaky_log = [a for a in log if a.endpoint_id == flaky_id]
    assert [(a.attempt, a.status) for a in flaky_log] == [
        (1, 500), (2, 200), (1, None), (2, 200), (1, 410), (1, 302)]
    assert "RemoteDisconnected" in flaky_log[2].error
    assert flaky_log[-2].response == "gone for good"
    assert [(a.attempt, a.status) for a in log if a.endpoint_id == steady_id] == [(1, 200)] * 4


def test_urls_refused_at_creation():
    assert check_url("https://crm.example.com/hooks") == "https://crm.example.com/hooks"
    for url, reason in (("ftp://example.com/x", "http:// or https://"),
                        ("https://user:pw@example.com/", "user or password"),
                        ("http://127.0.0.1:9/", None)):
        with pytest.raises(ValidationError) as refused:
            check_url(url, allow_private=False)
        assert refused.value.field == "url"
        assert reason is None or reason in refused.value.reason
    with pytest.raises(ValidationError, match="private or local"):
        check_url("http://10.1.2.3/", allow_private=False)
    assert check_url("http://127.0.0.1:9/") == "http://127.0.0.1:9/"  # allowed by default


@pytest.mark.sqlite_only
def test_a_private_address_is_refused_again_when_sending(runtime, factory, receivers, endpoint,
                                                          block, drain, dead_letters,
                                                          monkeypatch):
    """An endpoint saved while private addresses were allowed (or whose name resolved
    elsewhere then) is not sent to once `allow_private` is off: checked at every send."""
    loopback = receivers()
    hooked = endpoint(loopback, ["block_set"])
    monkeypatch.setitem(runtime.plugin_configs["webhooks"], "allow_private", False)
    block(factory.account())
    drain()
    assert loopback.received == []
    letter, = dead_letters("webhooks")
    assert f"endpoint {hooked}" in letter.last_error
    assert "127.0.0.1 is a private or local address" in letter.last_error
    with runtime.session() as session:
        attempt, = session.query(WebhookAttempt).all()
    assert attempt.status is None and "allow_private is off" in attempt.error


@pytest.mark.sqlite_only
def test_an_endpoint_made_in_another_process_counts_within_the_refresh_window(
        runtime, factory, block, deliveries, monkeypatch):
    from core import webhooks
    from plugins.host import build_runtime
    other = build_runtime(runtime.settings, load_entrypoints=False, engine=runtime.engine)
    account = factory.account()  # this process has read the endpoints: none
    with other.session(actor="test") as session:
        create_endpoint(session, "http://127.0.0.1:9/", ["block_set"])
    block(account)
    assert deliveries("webhooks") == []  # within the window: not seen here yet
    later = webhooks.time.monotonic() + runtime.plugin_configs["webhooks"]["refresh_seconds"]
    monkeypatch.setattr(webhooks.time, "monotonic", lambda: later)
    block(factory.account())
    assert [d.event for d in deliveries("webhooks")] == ["block_set"]
