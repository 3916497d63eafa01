"""The reconciliation compares the SMS with the billing both ways and repairs the drift in
one run (a second finds nothing and sends nothing); the nightly job says how it went."""
from __future__ import annotations

from datetime import date

import pytest

from core.blocking import set_block
from plugin_jambox import store
from plugin_jambox.client import READS
from plugin_jambox.plugin import nightly_sync
from plugin_jambox.reconcile import reconcile


@pytest.fixture
def abonent_config():
    return {"plugins": {"jambox": {"sync_fix": "true"}}}


def kinds(report) -> list[tuple[str, bool]]:
    return sorted((d["kind"], d["fixed"]) for d in report.drift)


def sync(jb, fix=True, account_id=None):
    return reconcile(jb.runtime.context("jambox"), account_id, fix)


@pytest.fixture
def tv(jb):
    account = jb.account()
    jb.drain()
    return account


def test_an_sms_in_line_with_the_billing_shows_no_drift_and_a_rerun_sends_nothing(jb, tv):
    report = sync(jb)
    assert (report.checked, report.drift, report.errors) == (1, [], [])
    jb.sms.calls.clear()
    sync(jb)
    assert [name for name, _ in jb.sms.calls if name not in READS] == []


def test_what_the_sms_lost_or_changed_is_put_back(jb, tv, jambox_client):
    (account,) = jb.tv_accounts(tv.contract_id)
    (service,) = jb.sms.account_subscriptions(account.account_id)
    jambox_client.account_edit(account.account_id, {"cust_i_city": "Tarnów",
                                                    "cust_i_street": "Wałowa",
                                                    "cust_i_home_nr": "1"})
    jambox_client.account_lock(account.account_id)
    service.active = False
    report = sync(jb, fix=False)
    assert kinds(report) == [("address", False), ("inactive_service", False), ("lock", False)]
    report = sync(jb)
    assert kinds(report) == [("address", True), ("inactive_service", True), ("lock", True)]
    assert account.address["cust_i_city"] == "Kraków" and not account.locked
    assert service.active
    assert sync(jb).drift == []


def test_a_tv_account_gone_from_the_sms_is_added_again_with_its_packages(jb, tv):
    (account,) = jb.tv_accounts(tv.contract_id)
    with jb.sms.lock:
        for service in jb.sms.account_subscriptions(account.account_id):
            del jb.sms.subscriptions[service.subscription_id]
        del jb.sms.accounts[account.account_id]
    report = sync(jb)
    assert kinds(report) == [("missing_account", True), ("missing_service", True)]
    assert jb.packages(tv.contract_id) == [(101, True, "")]
    assert sync(jb).drift == []


def test_a_linked_customer_with_another_external_id_is_linked_afresh(jb, tv, jambox_client):
    old = jb.customer(tv.contract_id)
    jambox_client.cust_edit(old.cust_number, {"cust_external_id": "LMS-1"})
    report = sync(jb)
    assert ("customer_link", True) in kinds(report)
    fresh = jb.customer(tv.contract_id)
    assert fresh is not None and fresh.cust_number != old.cust_number
    with jb.runtime.session() as s:
        assert store.customer_number(s, tv.contract_id) == fresh.cust_number
    assert [d["kind"] for d in sync(jb).drift] == ["unknown_customer"]


def test_a_service_the_billing_does_not_have_is_terminated_at_the_period_end(jb):
    with jb.day(date(2026, 11, 10)):
        account = jb.account()
        jb.drain()
        (tv_account,) = jb.tv_accounts(account.contract_id)
        jb.sms.subscribe(tv_account.account_id, 203, date(2026, 11, 10), True)
        report = sync(jb)
        assert kinds(report) == [("extra_service", True)]
        assert jb.packages(account.contract_id) == [(101, True, ""), (203, True, "2026-11-30")]
        assert sync(jb).drift == []


def test_the_lock_follows_the_blocks_even_when_a_delivery_was_missed(jb, tv):
    with jb.runtime.session() as s:
        set_block(s, tv.id, "balance", system=True)
    report = sync(jb, account_id=tv.id)  # before the outbox delivers the block
    assert kinds(report) == [("lock", True)]
    jb.drain()
    assert [a.locked for a in jb.tv_accounts(tv.contract_id)] == [True]
    assert [c[0] for c in jb.sms.calls].count("accountLock") == 1


def test_the_nightly_job_outcome(jb, tv, fault_proxy):
    ctx = jb.runtime.context("jambox")
    assert nightly_sync(ctx)["outcome"] == "ok"
    proxy = fault_proxy(jb.emulator.url)
    jb.configure(sms_url=proxy.url, timeout="1")
    proxy.error(status=503, times=50)
    result = nightly_sync(ctx)
    assert result["outcome"] == "failed" and "0 account(s) checked" in result["summary"]
    assert "HTTP 503" in result["summary"]


def test_another_plugins_account_is_not_ours(jb, factory):
    other = factory.account()
    assert sync(jb, account_id=other.id) is None
