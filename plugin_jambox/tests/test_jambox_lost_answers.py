"""Every call the deliveries make to the SMS is safe when the SMS applied it and its answer
was lost (the fault kit's `lose_answer`: a proxy between answers 503, or drops the
connection): the retry looks at the SMS first and finds the work done - the customer by
its external id, the account at its address, the service of its package, the lock, the
termination date, the deleted account. The delivery ends done, and the SMS holds exactly
what the billing has, nothing twice. Errors, hangs and garbled answers on a few."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from core.blocking import lift_block, set_block
from core.models import Delivery, Subscription
from core.services.accounts import change_account, trash_account
from core.services.subscriptions import activate, assign_service, remove

from .conftest import ADDRESS


@pytest.fixture
def abonent_config():
    return {"outbox": {"backoff_base": "0", "backoff_max": "0"}}


def call(name: str):
    """A fault kit match: the XML-RPC call of this method."""
    marker = f"<methodName>{name}</methodName>".encode()
    return lambda method, path, body: marker in body


def in_session(runtime, function, *args, **kwargs):
    with runtime.session(actor="test") as s:
        return function(s, *args, **kwargs)


def settle(jb) -> None:
    """Deliver until nothing is due; every delivery done, none dead or waiting."""
    for _ in range(6):
        if not jb.drain():
            break
    with jb.runtime.session() as s:
        assert [(d.state, d.last_error) for d in s.scalars(
            select(Delivery).where(Delivery.plugin == "jambox", Delivery.state != "done"))] == []


@pytest.fixture
def proxied(jb, fault_proxy):
    proxy = fault_proxy(jb.emulator.url)
    jb.configure(sms_url=proxy.url, timeout="1")
    return proxy


def addon(jb, account, active=True) -> int:
    in_session(jb.runtime, assign_service, account.id, jb.services[201].id, active=active)
    with jb.runtime.session() as s:
        return s.scalar(select(Subscription.id).where(
            Subscription.account_id == account.id,
            Subscription.service_id == jb.services[201].id))


CASES = {
    # method: (what the billing does before, the operation, what the SMS holds after)
    "custAdd": (None, lambda jb, a: None, [(101, True, "")]),
    "accountAdd": (None, lambda jb, a: None, [(101, True, "")]),
    "packagesEntitle": (None, lambda jb, a: None, [(101, True, "")]),
    "packagesAdd": ("created", lambda jb, a: addon(jb, a, active=False),
                    [(101, True, ""), (201, False, "")]),
    "subscriptionActivate": ("inactive addon", lambda jb, a: in_session(
        jb.runtime, activate, a.addon), [(101, True, ""), (201, True, "")]),
    "subscriptionTerminate": ("addon", lambda jb, a: in_session(jb.runtime, remove, a.addon),
                              [(101, True, ""), (201, True, "2026-11-30")]),
    "accountEdit": ("created", lambda jb, a: in_session(
        jb.runtime, change_account, a.id, fields={**ADDRESS, "jambox_flat": "9"}),
        [(101, True, "")]),
    "accountLock": ("created", lambda jb, a: in_session(jb.runtime, set_block, a.id, "balance",
                                                        system=True), [(101, True, "")]),
    "accountUnlock": ("locked", lambda jb, a: in_session(jb.runtime, lift_block, a.id,
                                                         "balance"), [(101, True, "")]),
}


@pytest.mark.parametrize("method", list(CASES))
@pytest.mark.parametrize("status", [503, None], ids=["503", "dropped"])
def test_an_operation_applied_with_its_answer_lost_ends_done_once(jb, proxied, method,
                                                                   status):
    before, operation, after = CASES[method]
    with jb.day(date(2026, 11, 10)):
        if before is None:
            proxied.lose_answer(match=call(method), status=status)
            account = jb.account()
        else:
            account = jb.account()
            if before in ("addon", "inactive addon"):
                account.addon = addon(jb, account, active=before == "addon")
            if before == "locked":
                in_session(jb.runtime, set_block, account.id, "balance", system=True)
            settle(jb)
            proxied.lose_answer(match=call(method), status=status)
        operation(jb, account)
        settle(jb)
        assert proxied.armed == 0
        assert [c.fault for c in proxied.calls if call(method)("POST", "", c.body)][0] == (
            "lose_answer")
        assert len(jb.sms.customers) == 1
        assert len(jb.tv_accounts(account.contract_id)) == 1
        assert jb.packages(account.contract_id) == after
        (tv,) = jb.tv_accounts(account.contract_id)
        assert tv.locked is (method == "accountLock")
        assert tv.address["cust_i_flat"] == ("9" if method == "accountEdit" else "2")


def test_account_delete_with_its_answer_lost_ends_done(jb, proxied, factory):
    tariff = factory.tariff(base=[factory.service(name="Internet")], extra=[jb.services[201]])
    account = jb.account(tariff=tariff)
    settle(jb)
    assert len(jb.tv_accounts(account.contract_id)) == 1
    proxied.lose_answer(match=call("accountDel"))
    in_session(jb.runtime, trash_account, account.id)
    settle(jb)
    assert jb.tv_accounts(account.contract_id) == []
    assert [c.fault for c in proxied.calls if call("accountDel")("POST", "", c.body)] == [
        "lose_answer"]


@pytest.mark.parametrize("arm", ["error", "hang", "garble"])
def test_errors_hangs_and_garbled_answers_are_retried_to_one_result(jb, proxied, arm):
    getattr(proxied, arm)(match=call("packagesEntitle"))
    account = jb.account()
    settle(jb)
    assert jb.packages(account.contract_id) == [(101, True, "")]
    entitled = [c.fault for c in proxied.calls if call("packagesEntitle")("POST", "", c.body)]
    # a garbled answer came from an applied call: the retry finds the service, no second call
    assert entitled == ([arm] if arm == "garble" else [arm, None])
