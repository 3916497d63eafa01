"""The subscriber's actions in the cabinet: the money and the state each leaves, the
operator's rules each is held to, and the subscriber as the actor of each."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from sqlalchemy import select

from core.invoicing import invoice_period
from core.ledger import add_charge
from core.models import (AuditEntry, Block, Charge, Contract, Invoice, OutboxEvent, Payment,
                         Subscription, TariffChange)
from core.state import account_state


def _balance(runtime, world) -> D:
    with runtime.session() as s:
        return s.get(Contract, world.contract.id).balance


def _addon_subscriptions(runtime, world) -> list[str]:
    with runtime.session() as s:
        return list(s.scalars(select(Subscription.state).where(
            Subscription.service_id == world.addon.id)))


def test_connect_refused_without_money_then_paid_and_disconnected(client, world, runtime, pay):
    refused = client.post(f"/my/connect/{world.addon.id}").get_data(as_text=True)
    assert "Not enough money: 10.00 needed, 0.00 available" in refused
    assert _balance(runtime, world) == D("0.00") and _addon_subscriptions(runtime, world) == []
    pay(world.contract, "15.00")
    assert "Cinema is connected." in client.post(f"/my/connect/{world.addon.id}").get_data(
        as_text=True)
    assert _balance(runtime, world) == D("5.00")
    with runtime.session() as s:
        charge = s.scalars(select(Charge).where(Charge.service_id == world.addon.id)).one()
        assert charge.amount == D("10.00")
        assert s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "assign")).all() == [
            "subscriber:ivan"]
        assert s.scalars(select(OutboxEvent.name).where(
            OutboxEvent.name == "subscription_assigned")).all()
        subscription = s.scalars(select(Subscription.id).where(
            Subscription.service_id == world.addon.id)).one()
    again = client.post(f"/my/connect/{world.addon.id}").get_data(as_text=True)
    assert "is not an add-on of your tariff" not in again and "already assigned" in again
    with runtime.session() as s:
        base = s.scalars(select(Subscription).where(Subscription.is_base)).one()
        base_id, base_service = base.id, base.service_id
    assert "is not an add-on of your tariff" in client.post(
        f"/my/connect/{base_service}").get_data(as_text=True)
    assert "cannot be disconnected alone" in client.post(
        f"/my/disconnect/{base_id}").get_data(as_text=True)
    page = client.post(f"/my/disconnect/{subscription}").get_data(as_text=True)
    assert "Cinema is disconnected" in page
    assert _addon_subscriptions(runtime, world) == ["ended"]
    assert _balance(runtime, world) == D("5.00")  # today was used: nothing to refund


def test_promised_payment_within_the_rules(client, world, runtime):
    above = client.post("/my/promise", {"amount": "501"}).get_data(as_text=True)
    assert "at most 500" in above and _balance(runtime, world) == D("0.00")
    taken = client.post("/my/promise", {"amount": "200,50"}).get_data(as_text=True)
    assert "A promised payment of 200.50" in taken
    assert _balance(runtime, world) == D("200.50")
    second = client.post("/my/promise", {"amount": "100"}).get_data(as_text=True)
    assert "already has promised payment" in second and _balance(runtime, world) == D("200.50")
    with runtime.session() as s:
        assert s.scalars(select(Payment.kind)).all() == ["promise"]
        assert s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "promise")).all() == [
            "subscriber:ivan"]


def test_voluntary_block_dated_indefinite_and_the_rules(client, world, runtime, clock,
                                                       new_client):
    today = clock.set(clock.now).date()
    short = client.post("/my/block", {"first": today, "last": today + timedelta(days=5)})
    assert "a block lasts at least 7 days" in short.get_data(as_text=True)
    assert "until you switch it off" in client.post("/my/block").get_data(as_text=True)
    with runtime.session() as s:
        assert account_state(s, world.account.id) == "voluntary"
        assert s.scalars(select(OutboxEvent.name).where(OutboxEvent.name == "block_set")).all()
    early = client.post("/my/unblock").get_data(as_text=True)
    assert "can be lifted here after 7 days" in early
    clock.advance(days=7, minutes=1)
    client = new_client()  # the idle session has ended meanwhile
    client.login("ivan")
    assert "The voluntary block is off." in client.post("/my/unblock").get_data(as_text=True)
    later = today + timedelta(days=10)
    dated = client.post("/my/block", {"first": later, "last": later + timedelta(days=6)})
    assert f"Voluntary block from {later} to {later + timedelta(days=6)}" in dated.get_data(
        as_text=True)
    assert "The voluntary block is off." in client.post("/my/unblock").get_data(as_text=True)
    third = client.post("/my/block").get_data(as_text=True)
    assert "at most 2 voluntary blocks in 30 days" in third
    with runtime.session() as s:
        assert account_state(s, world.account.id) == "active"
        assert len(s.scalars(select(Block)).all()) == 2


def test_tariff_change_for_the_next_period_among_self_service(client, world, runtime):
    closed = client.post("/my/tariff", {"tariff_id": world.closed.id}).get_data(as_text=True)
    assert "Not a valid choice" in closed
    page = client.post("/my/tariff", {"tariff_id": world.other.id}).get_data(as_text=True)
    first = (date.today().replace(day=28) + timedelta(days=4)).replace(day=1)
    assert f"You move to tariff Home 200 on {first}" in page
    with runtime.session() as s:
        change = s.scalars(select(TariffChange)).one()
        assert (change.new_tariff_id, change.effective_on, change.done_at) == (
            world.other.id, first, None)


def test_statement_and_only_own_invoices(client, world, runtime, pay, factory):
    pay(world.contract, "100.00")
    statement = client.page("/my/statement")
    assert "100.00" in statement and "Closing balance" in statement
    bad = client.http.get("/my/statement?from=2026-13-01", follow_redirects=True)
    assert "Refused — from" in bad.get_data(as_text=True)
    month = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    other = factory.contract()
    with runtime.session() as s:
        for contract in (world.contract, other):
            add_charge(s, key=f"c{contract.id}", contract_id=contract.id, amount=D("42.00"),
                       kind="manual", period_start=month, period_end=month)
    invoice_period(runtime, month)
    with runtime.session() as s:
        ours, theirs = (s.scalars(select(Invoice.id).where(Invoice.contract_id == c.id)).one()
                        for c in (world.contract, other))
    assert "42.00" in client.page("/my/invoices")
    assert "42.00" in client.page(f"/my/invoices/{ours}")
    assert client.http.get(f"/my/invoices/{theirs}").status_code == 404
