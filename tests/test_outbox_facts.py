"""A plugin's facts read with the outbox's claim (`abonent_delivery_facts`): each delivery
carries what was read for it, read after every earlier delivery of its contract was
recorded (a batch holds one delivery per contract), and a read that fails leaves the
claim standing."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select, text

from core.models import Delivery
from plugins.testing import RecordingPlugin


class ReadsAhead(RecordingPlugin):
    """Reads, for each claimed event, how many of its contract's deliveries to this plugin
    are done: the state the delivery's platform call would start from."""

    def __init__(self):
        super().__init__()
        self.batches: list[list[int]] = []
        self.broken = False

    def abonent_delivery_facts(self, session, events):
        if self.broken:  # a bug, not the database being away: a statement fails
            if session.bind.dialect.name == "postgresql":  # (and aborts the transaction)
                session.execute(text("SELECT CAST('x' AS integer)"))
            raise LookupError("a bug in the plugin's read")
        self.batches.append([event.id for event in events])
        return {event.id: session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.plugin == "ahead", Delivery.contract_id == event.contract_id,
            Delivery.state == "done")) for event in events}


@pytest.fixture
def plugin():
    return ReadsAhead()


@pytest.fixture
def abonent_plugins(plugin):
    return [("ahead", plugin)]


def test_each_delivery_carries_facts_read_after_its_contracts_earlier_ones(
        plugin, factory, block, lift, drain):
    first = factory.account()
    factory.account()  # another contract, its deliveries in the same batches
    block(first)
    lift(first)
    block(first)
    drain()
    by_contract: dict[int, list] = {}
    for event in plugin.events:
        by_contract.setdefault(event.contract_id, []).append(event.facts)
    assert len(by_contract[first.contract_id]) > 5  # created, assigned, blocks and lifts…
    for facts in by_contract.values():  # …each read after all the earlier were done
        assert facts == list(range(len(facts)))
    for batch in plugin.batches:  # one delivery per contract in a batch
        contracts = [e.contract_id for e in plugin.events if e.id in batch]
        assert len(contracts) == len(set(contracts))


def test_a_failing_read_leaves_the_claim_and_the_deliveries(plugin, runtime, factory, drain,
                                                           caplog):
    plugin.broken = True
    factory.account()
    with caplog.at_level(logging.ERROR, "abonent.outbox"):
        drain()
    assert [e.facts for e in plugin.events] == [None, None]
    assert "ahead's abonent_delivery_facts failed" in caplog.text
    with runtime.session() as s:
        assert set(s.scalars(select(Delivery.state).where(Delivery.plugin == "ahead"))) == {"done"}
