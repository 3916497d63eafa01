"""Writes a delivery leaves to the outbox (`ctx.write`): made in the transaction that
records the delivery as done, so the contract's next delivery reads them; a failing one
makes only its own delivery a failed attempt; outside a delivery, written at once."""
from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import event, select

from core import LinkWrite, get_link, set_link
from core.links import set_links
from core.models import Delivery
from plugins.testing import RecordingPlugin


class Remembers(RecordingPlugin):
    """Links every account event to a made-up platform id after its "call", and notes,
    for each delivery, the link its account had when the delivery started."""

    def __init__(self):
        super().__init__()
        self.seen: list[tuple[int, str | None]] = []
        self.wrote: dict[int, str] = {}  # the last link each account's deliveries wrote
        self.broken_account: int | None = None

    def _deliver(self, event, ctx) -> None:
        self._record(event, ctx)
        with ctx.session() as session:
            link = get_link(session, "remembers", "user", event.account_id)
            self.seen.append((event.account_id, link.external_id if link else None))
        if event.account_id == self.broken_account:
            ctx.write(lambda session: set_link(session, "remembers", "user", None, "x"))
        else:
            ctx.write(partial(set_link, plugin="remembers", kind="user",
                              local_id=event.account_id, external_id=f"e{event.id}"))
            self.wrote[event.account_id] = f"e{event.id}"

    abonent_account_created = abonent_subscription_assigned = abonent_block_set = _deliver
    abonent_block_lifted = _deliver


@pytest.fixture
def plugin():
    return Remembers()


@pytest.fixture
def abonent_plugins(plugin):
    return [("remembers", plugin)]


def _links(runtime, accounts) -> list[str | None]:
    with runtime.session() as s:
        return [getattr(get_link(s, "remembers", "user", a.id), "external_id", None)
                for a in accounts]


def test_a_deferred_write_is_there_for_the_contracts_next_delivery(
        plugin, runtime, factory, block, drain):
    accounts = [factory.account(), factory.account()]
    block(accounts[0])
    drain()
    for account in accounts:  # each delivery saw what the one before it wrote
        seen = [external for account_id, external in plugin.seen if account_id == account.id]
        assert seen[0] is None and all(seen[1:])
        assert seen[1:] == sorted(seen[1:], key=lambda e: int(e[1:]))
        assert len(set(seen[1:])) == len(seen) - 1
    assert _links(runtime, accounts) == [plugin.wrote[a.id] for a in accounts]


def test_a_failing_write_fails_its_own_delivery_only(plugin, runtime, factory, drain):
    good, bad = factory.account(), factory.account()
    plugin.broken_account = bad.id
    drain(max_rounds=1)
    with runtime.session() as s:
        states = {(d.account_id, d.state, d.attempts, bool(d.last_error and "writing after the "
                                                           "call" in d.last_error))
                  for d in s.scalars(select(Delivery).where(Delivery.plugin == "remembers"))}
    assert (good.id, "done", 1, False) in states
    assert (bad.id, "pending", 1, True) in states  # a failed attempt, retried later
    assert _links(runtime, [good, bad])[1] is None


def test_outside_a_delivery_it_writes_at_once(runtime):
    runtime.context("remembers").write(partial(set_link, plugin="remembers", kind="user",
                                               local_id=7, external_id="now"))
    with runtime.session() as s:
        assert get_link(s, "remembers", "user", 7).external_id == "now"


def test_links_are_written_in_one_statement_and_in_order_when_one_repeats(runtime):
    statements = []
    writes = [LinkWrite("remembers", "user", n, f"u{n}") for n in (1, 2, 3)]
    with runtime.session() as s:
        event.listen(s.connection(), "before_cursor_execute",
                     lambda *args: statements.append(args[2]))
        set_links(s, writes)
        assert len(statements) == 1
        set_links(s, [LinkWrite("remembers", "user", 4, "a", {"n": 1}),
                      LinkWrite("remembers", "user", 4, "b")])  # data kept, id changed
    with runtime.session() as s:
        assert [(get_link(s, "remembers", "user", n).external_id,
                 get_link(s, "remembers", "user", n).data) for n in (1, 2, 3, 4)] == [
            ("u1", {}), ("u2", {}), ("u3", {}), ("b", {"n": 1})]
