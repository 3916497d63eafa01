"""Subscribers, contracts and accounts through the service layer: what they write, the
events they emit, and how they refuse bad input without writing anything."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

import abonent_example
from core import Duplicate, NotFound, ValidationError
from core.models import AuditEntry, OutboxEvent, Subscription
from core.services import accounts, customers, subscriptions
from plugins.testing import RecordingPlugin


@pytest.fixture
def listener():
    return RecordingPlugin()


@pytest.fixture
def abonent_plugins(listener):
    return [("listener", listener), ("example", abonent_example)]


def test_account_gets_base_services_and_events(runtime, factory, listener, drain):
    base = factory.service("Internet", price="500.00")
    addon = factory.service("Static IP", price="150.00")
    tariff = factory.tariff("Home", base=[base], extra=[addon])
    contract = factory.contract()
    agent = factory.agent()
    with runtime.session() as s:
        account = accounts.create_account(s, contract.id, login="bob", agent_id=agent.id,
                                          tariff_id=tariff.id)
    with runtime.session() as s:
        subs = s.scalars(select(Subscription).where(Subscription.account_id == account.id)).all()
        assert [(x.service_id, x.is_base, x.state) for x in subs] == [(base.id, True, "active")]
        names = s.scalars(select(OutboxEvent.name).order_by(OutboxEvent.id)).all()
        assert names == ["account_created", "subscription_assigned"]
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.object_type == "account")) == "create"
    assert drain() == 2
    created, assigned = listener.events
    assert created.payload["account"]["login"] == "bob"
    assert created.payload["account"]["agent_type"] == "generic"
    assert created.payload["account"]["state"] == "active"
    assert assigned.payload["subscription"]["service_name"] == "Internet"
    assert assigned.payload["subscription"]["price"] == "500.00"
    assert created.idempotency_key == f"{created.id}:listener"


def test_change_account_carries_old_and_new(runtime, factory, listener, drain):
    account = factory.account(login="old-login", fields={"ext_id": "42"})
    with runtime.session() as s:
        accounts.change_account(s, account.id, login="new-login", fields={"ext_id": "43"})
    drain()
    changed = listener.events[-1]
    assert changed.name == "account_changed"
    assert changed.payload["old"] == {"login": "old-login", "ext_id": "42"}
    assert changed.payload["new"] == {"login": "new-login", "ext_id": "43"}
    with runtime.session() as s:
        accounts.change_account(s, account.id, login="new-login")  # nothing changes
    assert drain() == 0


def test_trash_and_restore(runtime, factory, listener, drain):
    account = factory.account(login="alice")
    with runtime.session() as s:
        assert accounts.trash_account(s, account.id) is True
        assert accounts.trash_account(s, account.id) is False  # idempotent
    twin = factory.account(login="alice", agent=factory.agent(name="other"))
    assert twin.login == "alice"
    with runtime.session() as s:  # the login is free while the owner is in the trash
        same_agent = accounts.create_account(
            s, account.contract_id, login="alice", agent_id=account.agent_id,
            tariff_id=account.tariff_id)
    with pytest.raises(Duplicate) as error, runtime.session() as s:
        accounts.restore_account(s, account.id)
    assert error.value.field == "login" and str(same_agent.id) in error.value.reason
    with runtime.session() as s:
        accounts.trash_account(s, same_agent.id)
        assert accounts.restore_account(s, account.id) is True
    drain()
    assert "account_trashed" in listener.names() and "account_restored" in listener.names()


def test_subscription_lifecycle(runtime, factory, listener, drain):
    addon = factory.service("TV+")
    tariff = factory.tariff(extra=[addon])
    account = factory.account(tariff=tariff)
    with runtime.session() as s:
        sub = subscriptions.assign_service(s, account.id, addon.id, active=False)
    with runtime.session() as s:
        subscriptions.activate(s, sub.id)
        subscriptions.deactivate(s, sub.id)
        subscriptions.remove(s, sub.id)
    drain()
    assert listener.names()[-4:] == ["subscription_assigned", "subscription_activated",
                                     "subscription_deactivated", "subscription_removed"]
    with pytest.raises(ValidationError, match="has ended"), runtime.session() as s:
        subscriptions.activate(s, sub.id)


def test_tariff_change_today_swaps_base_services(runtime, factory, listener, drain):
    old_base, new_base, addon = factory.service("Old"), factory.service("New"), factory.service("Add")
    old = factory.tariff(base=[old_base], extra=[addon])
    new = factory.tariff(base=[new_base])
    account = factory.account(tariff=old)
    with runtime.session() as s:
        subscriptions.assign_service(s, account.id, addon.id)
        accounts.change_tariff(s, account.id, new.id)
    drain()
    assert listener.names()[-4:] == ["tariff_changed", "subscription_removed",
                                     "subscription_removed", "subscription_assigned"]
    change = listener.events[-4]
    assert change.payload["old_tariff"]["id"] == old.id
    assert change.payload["new_tariff"]["base_services"][0]["name"] == "New"
    with runtime.session() as s:
        live = s.scalars(select(Subscription.service_id).where(
            Subscription.account_id == account.id, Subscription.state != "ended")).all()
        assert live == [new_base.id]


@pytest.mark.parametrize("kwargs, field, reason", [
    ({"login": ""}, "login", "is required"),
    ({"login": "two words"}, "login", "spaces"),
    ({"login": None}, "login", "is required"),
    ({"tariff_id": 999}, "tariff_id", "no tariff with id 999"),
    ({"tariff_id": "x"}, "tariff_id", "whole number"),
    ({"agent_id": 999}, "agent_id", "no agent"),
    ({"contract_id": 999}, "contract_id", "no contract"),
    ({"fields": {"nope": 1}}, "fields.nope", "unknown field"),
    ({"fields": "text"}, "fields", "mapping"),
    ({"start_on": "31.12.2026"}, "start_on", "not a date"),
])
def test_bad_account_input_is_refused_and_writes_nothing(runtime, factory, counts,
                                                         kwargs, field, reason):
    contract, tariff, agent = factory.contract(), factory.tariff(), factory.agent()
    args = {"contract_id": contract.id, "login": "carol", "agent_id": agent.id,
            "tariff_id": tariff.id, **kwargs}
    before = counts()
    with pytest.raises(ValidationError) as error, runtime.session() as s:
        accounts.create_account(s, args.pop("contract_id"), **args)
    assert error.value.field == field and reason in error.value.reason
    assert counts() == before


def test_duplicate_login_is_refused(runtime, factory, counts):
    account = factory.account(login="dave")
    before = counts()
    with pytest.raises(Duplicate, match="already used by account"), runtime.session() as s:
        accounts.create_account(s, account.contract_id, login="dave",
                                agent_id=account.agent_id, tariff_id=account.tariff_id)
    assert counts() == before


def test_agent_type_rule_belongs_to_the_plugin(runtime, factory, counts):
    """The example plugin's TV agent wants a phone login: its rule, its error."""
    agent = factory.agent(type="example-tv", api_url="http://tv.example")
    contract, tariff = factory.contract(), factory.tariff()
    before = counts()
    with pytest.raises(ValidationError) as error, runtime.session() as s:
        accounts.create_account(s, contract.id, login="not-a-phone", agent_id=agent.id,
                                tariff_id=tariff.id)
    assert error.value.field == "login" and "starting with 7" in error.value.reason
    with pytest.raises(ValidationError) as error, runtime.session() as s:
        accounts.create_account(s, contract.id, login="x", agent_id=agent.id,
                                tariff_id=tariff.id, fields={"device_limit": "many"})
    assert error.value.field == "fields.device_limit"
    assert counts() == before
    with runtime.session() as s:
        ok = accounts.create_account(s, contract.id, login="79001234567", agent_id=agent.id,
                                     tariff_id=tariff.id, fields={"device_limit": "3"})
        assert ok.fields == {"device_limit": 3}


def test_unknown_agent_type_is_a_clear_error(runtime, factory):
    agent = factory.agent(type="uninstalled")
    with pytest.raises(NotFound, match="agent type 'uninstalled' is not installed"), \
            runtime.session() as s:
        accounts.create_account(s, factory.contract().id, login="x", agent_id=agent.id,
                                tariff_id=factory.tariff().id)


@pytest.mark.parametrize("data, field", [
    ({}, "name"),
    ({"name": "X", "kind": "alien"}, "kind"),
    ({"name": "X", "phones": ["call me"]}, "phones.0"),
    ({"name": "X", "phones": ["12"]}, "phones.0"),
    ({"name": "X", "email": "nobody"}, "email"),
    ({"name": "X", "addresses": [42]}, "addresses.0"),
    ({"name": "X", "favourite": "blue"}, "favourite"),
    ({"name": ["X"]}, "name"),
])
def test_bad_subscriber_input(runtime, factory, counts, data, field):
    factory.operator()
    before = counts()
    with pytest.raises(ValidationError) as error, runtime.session() as s:
        customers.create_subscriber(s, **data)
    assert error.value.field == field
    assert counts() == before


def test_subscriber_phones_are_normalised_and_found(runtime, factory):
    subscriber = factory.subscriber(phones=["+7 (900) 123-45-67", "79001234567"])
    with runtime.session() as s:
        found = runtime.hook.abonent_find_subscriber(session=s, phone="79001234567")
        assert found.id == subscriber.id
        assert [p.number for p in found.phones] == ["79001234567"]


@pytest.mark.parametrize("terms, field", [
    ({"credit_limit": "-5"}, "credit_limit"),
    ({"credit_limit": 1.5}, "credit_limit"),
    ({"credit_limit": "lots"}, "credit_limit"),
    ({"do_not_block": "yes"}, "do_not_block"),
    ({"limit": 5}, "limit"),
])
def test_bad_contract_terms(runtime, factory, counts, terms, field):
    subscriber = factory.subscriber()
    before = counts()
    with pytest.raises(ValidationError) as error, runtime.session() as s:
        customers.create_contract(s, subscriber.id, **terms)
    assert error.value.field == field
    assert counts() == before


def test_contract_numbers_come_from_the_plan(runtime, factory):
    first, second = factory.contract(), factory.contract(credit_limit="100.50")
    assert (first.number, second.number) == ("C-00001", "C-00002")
    assert second.credit_limit == Decimal("100.50")
    with pytest.raises(Duplicate), runtime.session() as s:
        customers.create_contract(s, first.subscriber_id, number="C-00001")
