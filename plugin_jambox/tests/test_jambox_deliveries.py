"""Billing → SMS through the outbox: customers, TV accounts, packages, locks, the trash;
SGT's refusals reach the dead letter with their Polish text."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from core import ValidationError
from core.blocking import lift_block, set_block
from core.models import Delivery, Subscription
from core.services.accounts import change_account, restore_account, trash_account
from core.services.subscriptions import activate, assign_service, remove
from plugin_jambox import store
from plugin_jambox.reconcile import reconcile

from .conftest import ADDRESS


def in_session(runtime, function, *args, **kwargs):
    with runtime.session(actor="test") as s:
        return function(s, *args, **kwargs)


def left(jb) -> list[tuple[str, str | None]]:
    """Deliveries of the plugin not done: (state, last error)."""
    with jb.runtime.session() as s:
        return [(d.state, d.last_error) for d in s.scalars(
            select(Delivery).where(Delivery.plugin == "jambox", Delivery.state != "done"))]


def subscription_of(jb, account_id: int, service_id: int) -> int:
    with jb.runtime.session() as s:
        return s.scalar(select(Subscription.id).where(Subscription.account_id == account_id,
                                                      Subscription.service_id == service_id))


def test_a_new_account_exports_the_customer_adds_the_tv_account_and_its_base_package(jb):
    account = jb.account()
    jb.drain()
    assert left(jb) == []
    customer = jb.customer(account.contract_id)
    assert customer.data["cust_surname"] and customer.data["cust_external_id"] == str(
        account.contract_id)
    assert len(customer.data["cust_vod_pin"]) == 4 and customer.data["cust_vod_pin"].isdigit()
    (tv,) = jb.tv_accounts(account.contract_id)
    assert tv.address == {"cust_i_city": "Kraków", "cust_i_street": "Długa",
                          "cust_i_home_nr": "5", "cust_i_flat": "2",
                          "cust_i_postal_code": "30-001"}
    assert jb.packages(account.contract_id) == [(101, True, "")]
    with jb.runtime.session() as s:
        assert store.customer_number(s, account.contract_id) == customer.cust_number
        assert store.tv_account(s, account.id)[0] == tv.account_id


def test_a_second_account_of_the_contract_is_a_second_tv_account_of_one_customer(
        jb, factory):
    contract = factory.contract()
    jb.account("tv1", contract=contract)
    jb.account("tv2", contract=contract, fields={"jambox_street": "Krótka"})
    other = jb.account("tv3")
    jb.drain()
    assert left(jb) == []
    assert len(jb.sms.customers) == 2
    assert sorted(a.address["cust_i_street"] for a in jb.tv_accounts(contract.id)) == [
        "Długa", "Krótka"]
    assert len(jb.tv_accounts(other.contract_id)) == 1


def test_a_customer_already_in_the_sms_with_our_external_id_is_linked_not_added(
        jb, jambox_client, factory):
    contract = factory.contract()
    number = jambox_client.cust_add({"cust_name": "Jan", "cust_surname": "Kowalski",
                                     "cust_external_id": str(contract.id)})
    jb.account(contract=contract)
    jb.drain()
    assert [c[0] for c in jb.calls("custAdd")] == ["custAdd"]  # the one made above
    assert {a.cust_number for a in jb.tv_accounts(contract.id)} == {number}


def test_an_addon_added_inactive_then_activated_then_removed_at_the_period_end(jb):
    with jb.day(date(2026, 11, 10)):
        addon_added_activated_removed(jb)


def addon_added_activated_removed(jb):
    account = jb.account()
    jb.drain()
    in_session(jb.runtime, assign_service, account.id, jb.services[201].id, active=False)
    jb.drain()
    assert jb.packages(account.contract_id) == [(101, True, ""), (201, False, "")]
    addon = subscription_of(jb, account.id, jb.services[201].id)
    in_session(jb.runtime, activate, addon)
    jb.drain()
    assert jb.packages(account.contract_id) == [(101, True, ""), (201, True, "")]
    in_session(jb.runtime, remove, addon)
    jb.drain()
    assert jb.packages(account.contract_id) == [(101, True, ""), (201, True, "2026-11-30")]
    assert left(jb) == []


@pytest.mark.parametrize("source, locks", [("balance", True), ("admin", False)])
def test_blocks_of_the_lock_sources_lock_the_tv_account(jb, source, locks):
    account = jb.account()
    jb.drain()
    in_session(jb.runtime, set_block, account.id, source, system=source == "balance")
    jb.drain()
    (tv,) = jb.tv_accounts(account.contract_id)
    assert tv.locked is locks
    in_session(jb.runtime, lift_block, account.id, source)
    jb.drain()
    assert tv.locked is False
    assert [c[0] for c in jb.sms.calls if c[0] in ("accountLock", "accountUnlock")] == (
        ["accountLock", "accountUnlock"] if locks else [])
    assert left(jb) == []


def test_the_agents_lock_sources_decide(jb):
    jb.configure(lock_sources=["balance", "admin"])
    account = jb.account()
    jb.drain()
    in_session(jb.runtime, set_block, account.id, "admin")
    jb.drain()
    assert [a.locked for a in jb.tv_accounts(account.contract_id)] == [True]


def test_an_address_change_is_carried_to_the_tv_account(jb):
    account = jb.account()
    jb.drain()
    in_session(jb.runtime, change_account, account.id,
               fields={**ADDRESS, "jambox_flat": "7", "jambox_postal_code": "30-002"})
    jb.drain()
    (tv,) = jb.tv_accounts(account.contract_id)
    assert (tv.address["cust_i_flat"], tv.address["cust_i_postal_code"]) == ("7", "30-002")


def test_a_trashed_account_ends_its_services_is_locked_and_deleted_once_they_ended(jb):
    with jb.day(date(2026, 11, 10)):
        account = jb.account()
        jb.drain()
        in_session(jb.runtime, trash_account, account.id)
        jb.drain()
        assert left(jb) == []
        (tv,) = jb.tv_accounts(account.contract_id)
        assert tv.locked and jb.packages(account.contract_id) == [(101, True, "2026-11-30")]
        report = reconcile(jb.runtime.context("jambox"), fix=True)
        assert [d["kind"] for d in report.drift] == ["delete_pending"]
    with jb.day(date(2026, 12, 1)):
        report = reconcile(jb.runtime.context("jambox"), fix=True)
    assert [(d["kind"], d["fixed"]) for d in report.drift] == [("trashed_account", True)]
    assert jb.tv_accounts(account.contract_id) == []


def test_a_restored_account_gets_its_services_again_after_the_terminated_ones(jb):
    with jb.day(date(2026, 11, 10)):
        account = jb.account()
        jb.drain()
        in_session(jb.runtime, trash_account, account.id)
        jb.drain()
        in_session(jb.runtime, restore_account, account.id)
        jb.drain()
        assert left(jb) == []
        (tv,) = jb.tv_accounts(account.contract_id)
        assert not tv.locked
        # the terminated service runs out its period, the package starts again after it
        assert [(s.package_id, s.valid_from.isoformat(), s.valid_to and s.valid_to.isoformat())
                for s in jb.sms.account_subscriptions(tv.account_id)] == [
            (101, "2026-11-10", "2026-11-30"), (101, "2026-12-01", None)]
        with jb.runtime.session() as s:
            assert store.tv_account(s, account.id) == (tv.account_id, {})
        assert reconcile(jb.runtime.context("jambox"), account.id, fix=True).drift == []


def test_an_account_moved_to_another_agent_leaves_the_sms(jb, factory):
    with jb.day(date(2026, 11, 10)):
        account = jb.account()
        jb.drain()
        other = factory.agent()
        in_session(jb.runtime, change_account, account.id, agent_id=other.id, fields={})
        jb.drain()
        assert left(jb) == []
        (tv,) = jb.tv_accounts(account.contract_id)
        assert tv.locked and jb.packages(account.contract_id) == [(101, True, "2026-11-30")]
        with jb.runtime.session() as s:
            assert store.tv_account(s, account.id)[1] == {"delete_pending": True,
                                                          "agent_id": jb.agent.id}
        assert [d["kind"] for d in reconcile(jb.runtime.context("jambox"), fix=True).drift] == [
            "delete_pending"]
    with jb.day(date(2026, 12, 1)):
        report = reconcile(jb.runtime.context("jambox"), fix=True)
        assert [(d["kind"], d["fixed"]) for d in report.drift] == [("trashed_account", True)]
        assert jb.tv_accounts(account.contract_id) == []
        with jb.runtime.session() as s:
            assert store.tv_account(s, account.id) == (None, {})


def test_an_sms_refusal_is_a_dead_letter_with_sgts_text(jb, factory):
    plain = factory.service(name="Internet 100")
    tariff = factory.tariff(base=[plain], extra=[jb.services[201]])
    account = jb.account(tariff=tariff)
    jb.drain()
    in_session(jb.runtime, assign_service, account.id, jb.services[201].id)
    jb.drain()
    assert left(jb) == [("dead", "rejected: JAMBOX SMS refused packagesEntitle: Pakiet dodatkowy HBO "
                                 "wymaga pakietu podstawowego")]
    assert jb.packages(account.contract_id) == []


def test_a_bad_installation_address_is_refused_before_anything_is_sent(jb):
    with pytest.raises(ValidationError) as refused:
        jb.account(fields={"jambox_postal_code": "30001"})
    assert refused.value.field == "fields.jambox_postal_code"
    with pytest.raises(ValidationError) as refused:
        jb.account(fields={"jambox_city": ""})
    assert refused.value.field == "fields.jambox_city"
    jb.drain()
    assert jb.sms.calls == []
