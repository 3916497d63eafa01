"""Blocking states: precedence, the events each change announces, dated blocks, and
automatic balance blocks with grace and "do not block"."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import Duplicate, NotFound, ValidationError
from core.blocking import apply_due, check_balances, lift_block, set_block
from core.clock import frozen
from core.ledger import add_charge
from core.models import Block, Contract
from core.services.customers import update_contract
from core.services.payments import record_payment
from core.state import account_state

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def abonent_plugins(listener):
    return [("listener", listener)]


def state(runtime, account_id):
    with runtime.session() as s:
        return account_state(s, account_id)


def debit(runtime, contract_id, amount, key="k"):
    with runtime.session() as s:
        add_charge(s, key=key, contract_id=contract_id, amount=Decimal(amount), kind="manual",
                   period_start=date(2026, 11, 10), period_end=date(2026, 11, 10))


def test_admin_block_and_lift_announce_state_and_subscriptions(runtime, factory, listener,
                                                              drain):
    account = factory.account()
    drain()
    listener.events.clear()
    with runtime.session() as s:
        set_block(s, account.id, "admin", reason="fraud check")
    assert state(runtime, account.id) == "admin"
    with runtime.session() as s:
        lift_block(s, account.id, "admin")
    assert state(runtime, account.id) == "active"
    drain()
    assert listener.names() == ["block_set", "subscription_deactivated", "block_lifted",
                                "subscription_activated"]
    block_set, deactivated, lifted, activated = listener.events
    assert (block_set.payload["old_state"], block_set.payload["new_state"]) == ("active", "admin")
    assert block_set.payload["block"]["reason"] == "fraud check"
    assert deactivated.payload["reason"] == "block"
    assert (lifted.payload["old_state"], lifted.payload["new_state"]) == ("admin", "active")
    assert activated.payload["reason"] == "block_lifted"


def test_precedence_and_no_subscription_events_between_blocked_states(runtime, factory,
                                                                      listener, drain):
    account = factory.account()
    with runtime.session() as s:
        set_block(s, account.id, "voluntary")
        set_block(s, account.id, "admin")
        set_block(s, account.id, "disabled")
    assert state(runtime, account.id) == "disabled"
    with runtime.session() as s:
        lift_block(s, account.id, "disabled")
    assert state(runtime, account.id) == "admin"
    with runtime.session() as s:
        lift_block(s, account.id, "admin")
    assert state(runtime, account.id) == "voluntary"
    drain()
    transitions = [(e.payload["old_state"], e.payload["new_state"]) for e in listener.events
                   if e.name.startswith("block_")]
    assert transitions == [("active", "voluntary"), ("voluntary", "admin"),
                           ("admin", "disabled"), ("disabled", "admin"), ("admin", "voluntary")]
    assert listener.names().count("subscription_deactivated") == 1
    assert "subscription_activated" not in listener.names()


def test_dated_voluntary_block_starts_and_ends_on_its_dates(runtime, factory, listener, drain):
    account = factory.account()
    with frozen(NOW), runtime.session() as s:
        set_block(s, account.id, "voluntary", start_at=NOW + timedelta(days=2),
                  end_at=NOW + timedelta(days=5))
    drain()
    assert "block_set" not in listener.names()
    with frozen(NOW + timedelta(days=2, minutes=1)):
        assert state(runtime, account.id) == "voluntary"
        with runtime.session() as s:
            assert apply_due(s) == {"started": 1, "ended": 0}
            assert apply_due(s) == {"started": 0, "ended": 0}
    with frozen(NOW + timedelta(days=5, minutes=1)):
        assert state(runtime, account.id) == "active"
        with runtime.session() as s:
            assert apply_due(s) == {"started": 0, "ended": 1}
    drain()
    assert [n for n in listener.names() if n.startswith("block")] == ["block_set", "block_lifted"]


@pytest.mark.parametrize("kwargs, error, field", [
    ({"source": "balance"}, ValidationError, "source"),
    ({"source": "holiday"}, ValidationError, "source"),
    ({"source": "voluntary", "end_at": "2020-01-01T00:00:00+00:00"}, ValidationError, "end_at"),
    ({"source": "voluntary", "start_at": "tomorrow"}, ValidationError, "start_at"),
    ({"source": "admin", "reason": "x" * 501}, ValidationError, "reason"),
])
def test_bad_block_input(runtime, factory, counts, kwargs, error, field):
    account = factory.account()
    before = counts()
    with pytest.raises(error) as raised, runtime.session() as s:
        set_block(s, account.id, **kwargs)
    assert raised.value.field == field
    assert counts() == before


def test_second_block_of_a_source_and_lifting_nothing(runtime, factory, counts):
    account = factory.account()
    with runtime.session() as s:
        set_block(s, account.id, "admin")
    before = counts()
    with pytest.raises(Duplicate, match="already has a admin block"), runtime.session() as s:
        set_block(s, account.id, "admin")
    with pytest.raises(NotFound, match="no voluntary block"), runtime.session() as s:
        lift_block(s, account.id, "voluntary")
    assert counts() == before


def test_balance_block_set_by_charges_and_lifted_by_payment(runtime, factory, listener, drain):
    account = factory.account(contract=factory.contract(credit_limit="100"))
    debit(runtime, account.contract_id, "150")
    with runtime.session() as s:
        assert check_balances(s) == {"blocked": 1, "lifted": 0}
        assert check_balances(s) == {"blocked": 0, "lifted": 0}
    assert state(runtime, account.id) == "balance"
    with runtime.session() as s:
        record_payment(s, account.contract_id, "30", external_id="p1")
    assert state(runtime, account.id) == "balance"  # −120 is still below −100
    with runtime.session() as s:
        record_payment(s, account.contract_id, "20", external_id="p2")
    assert state(runtime, account.id) == "active"  # −100 is the limit: allowed
    drain()
    account_events = [e.name for e in listener.events if e.account_id == account.id]
    assert account_events[-4:] == ["block_set", "subscription_deactivated", "block_lifted",
                                   "subscription_activated"]
    assert listener.names().count("payment_received") == 2


def test_grace_amount_and_days(runtime, factory):
    factory.operator()
    account = factory.account(contract=factory.contract(grace_amount="50", grace_days=2))
    debit(runtime, account.contract_id, "40", "a")
    with runtime.session() as s:
        check_balances(s)
    assert state(runtime, account.id) == "active"  # within the grace amount
    debit(runtime, account.contract_id, "20", "b")  # −60: beyond it, but the days run
    with frozen(NOW), runtime.session() as s:
        assert check_balances(s)["blocked"] == 0
    with frozen(NOW + timedelta(days=1)), runtime.session() as s:
        assert check_balances(s)["blocked"] == 0
    with frozen(NOW + timedelta(days=2)), runtime.session() as s:
        assert check_balances(s)["blocked"] == 1


def test_do_not_block(runtime, factory):
    account = factory.account()
    debit(runtime, account.contract_id, "500")
    with runtime.session() as s:
        check_balances(s)
    assert state(runtime, account.id) == "balance"
    with runtime.session() as s:
        update_contract(s, account.contract_id, do_not_block=True)
        assert check_balances(s) == {"blocked": 0, "lifted": 1}
    assert state(runtime, account.id) == "active"
    with runtime.session() as s:
        assert s.get(Contract, account.contract_id).balance == Decimal("-500.00")
        assert s.scalar(select(Block.reason).where(Block.source == "balance")) == \
            "balance below the credit limit"
