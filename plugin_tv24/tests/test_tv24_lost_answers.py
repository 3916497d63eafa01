"""Every operation the plugin performs on the platform is safe when the platform applied
it and the answer was lost (the fault kit's `lose_answer`: a proxy between answers 503, or
drops the connection): the retry meets "already exists", "already has a subscription",
"already ended", "already paused"… and takes them for done. The delivery ends done, the
platform holds exactly what the billing has, nothing twice. Errors, hangs and garbled
answers are tried on a representative few."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.blocking import lift_block, set_block
from core.models import Delivery, Subscription
from core.services.accounts import change_account, change_tariff, trash_account
from core.services.subscriptions import assign_service, remove
from plugin_tv24.reconcile import reconcile


@pytest.fixture
def abonent_config():
    return {"outbox": {"backoff_base": "0", "backoff_max": "0"},
            "plugins": {"tv24": {"connect_timeout": "1", "read_timeout": "1"}}}


def call(method: str, pattern: str):
    """A fault kit match: this method on a path (query left out) matching `pattern`."""
    template = re.compile(pattern.replace("{id}", r"\d+") + "$")
    return lambda m, path, body: m == method and template.match(path.split("?")[0]) is not None


def in_session(runtime, function, *args, **kwargs):
    with runtime.session(actor="test") as s:
        return function(s, *args, **kwargs)


def settled(tv) -> None:
    """Every delivery done, none dead or waiting."""
    with tv.runtime.session() as s:
        left = [(d.state, d.last_error) for d in s.scalars(
            select(Delivery).where(Delivery.plugin == "tv24", Delivery.state != "done"))]
    assert left == []


@pytest.fixture
def proxied(tv, fault_proxy):
    """The agent talks to the emulator through a fault proxy."""
    proxy = fault_proxy(tv.emulator.url)
    tv.configure(api_url=proxy.url)
    return proxy


def forget_garbled(traffic: list) -> None:
    """Drop the answers the fault kit cut in half from the exchanges checked against the
    spec at the end of the test: they are the fault, not the platform's."""
    def whole(exchange) -> bool:
        try:
            exchange.answer.json()
        except ValueError:
            return not exchange.answer.content
        return True
    traffic[:] = [exchange for exchange in traffic if whole(exchange)]


def on_platform(tv, account) -> tuple:
    """What the platform holds for the account: users with its phone, and its
    subscriptions as (packet, current?, paused?, renew)."""
    state = tv.emulator.state
    users = state.find_users({"phone": account.login})
    now = state.clock()
    subs = sorted((s.packet.id, s.is_current(now), s.is_paused(now), s.renew)
                  for user in users for s in state.user_subscriptions(user.id)
                  if s.end_at > now)
    return len(users), subs


# Each case: what to arm the fault on, what the billing does then, and the platform after.
def _create(tv, account):
    """The account's creation (with an add-on) is the operation: nothing more."""


def _block(tv, account):
    in_session(tv.runtime, set_block, account.id, "admin")


def _unblock(tv, account):
    in_session(tv.runtime, set_block, account.id, "admin")
    tv.drain()
    in_session(tv.runtime, lift_block, account.id, "admin")


def _remove_addon(tv, account):
    (addon,) = [s for s in account_subscriptions(tv, account) if s.service_id == tv.services[10].id]
    in_session(tv.runtime, remove, addon.id)


def _trash(tv, account):
    in_session(tv.runtime, trash_account, account.id)


def _device_limit(tv, account):
    in_session(tv.runtime, change_account, account.id, fields={"tv24_devicelimit": 2})


def _downgrade(tv, account):
    in_session(tv.runtime, change_tariff, account.id, tv.light.id)


def _upgrade(tv, account):
    in_session(tv.runtime, change_tariff, account.id, tv.premium.id)


def _remove_addon_while_blocked(tv, account):
    in_session(tv.runtime, set_block, account.id, "admin")
    tv.drain()
    _remove_addon(tv, account)


def account_subscriptions(tv, account):
    with tv.runtime.session() as s:
        return list(s.scalars(select(Subscription).where(Subscription.account_id == account.id,
                                                         Subscription.state == "active")))


CASES = {
    "create user": (call("POST", "/v2/users"), _create, (1, [(2, True, False, True),
                                                             (10, True, False, True)])),
    "subscribe": (call("POST", "/v2/users/{id}/subscriptions"), _create,
                  (1, [(2, True, False, True), (10, True, False, True)])),
    "pause": (call("POST", "/v2/users/{id}/pauses"), _block,
              (1, [(2, True, True, True), (10, True, True, True)])),
    "unpause": (call("DELETE", "/v2/users/{id}/pauses/delete"), _unblock,
                (1, [(2, True, False, True), (10, True, False, True)])),
    "delete subscription": (call("DELETE", "/v2/users/{id}/subscriptions/{id}"), _remove_addon,
                            (1, [(2, True, False, True)])),
    "unpause one to end it": (call("DELETE", "/v2/users/{id}/subscriptions/{id}/pauses/{id}"),
                              _remove_addon_while_blocked, (1, [(2, True, True, True)])),
    "trash user": (call("PATCH", "/v2/users/{id}"), _trash,
                   (1, [(2, True, True, True), (10, True, True, True)])),
    "device limit": (call("PATCH", "/v2/users/{id}"), _device_limit,
                     (1, [(2, True, False, True), (10, True, False, True)])),
    "tariff change (downgrade)": (call("PATCH", "/v2/users/{id}/subscriptions/{id}"), _downgrade,
                                  (1, [(1, False, False, True), (2, True, False, False),
                                       (10, True, False, False)])),
    "tariff change (upgrade)": (call("POST", "/v2/users/{id}/subscriptions"), _upgrade,
                                (1, [(3, True, False, True)])),
}


@pytest.fixture
def world(tv):
    tv.light, tv.premium = tv.tariff(base=1, addons=()), tv.tariff(base=3, addons=())
    return tv


@pytest.mark.parametrize("status", [503, None], ids=["503", "dropped"])
@pytest.mark.parametrize("case", list(CASES))
def test_an_applied_operation_whose_answer_was_lost(world, proxied, case, status):
    tv = world
    match, action, expected = CASES[case]
    if action is not _create:
        account = tv.account("79001234567", tv.tariff(base=2, addons=(10,)))
        in_session(tv.runtime, assign_service, account.id, tv.services[10].id)
        tv.drain()
    proxied.lose_answer(match=match, status=status)
    if action is _create:
        account = tv.account("79001234567", tv.tariff(base=2, addons=(10,)))
        in_session(tv.runtime, assign_service, account.id, tv.services[10].id)
    else:
        action(tv, account)
    tv.drain()
    assert [c.fault for c in proxied.calls if c.fault] == ["lose_answer"], case
    settled(tv)
    assert on_platform(tv, account) == expected
    if case == "device limit":
        assert tv.user(account.id).device_limit == 2
    if case == "trash user":
        assert tv.user(account.id).is_active is False
    report = reconcile(tv.runtime.context("tv24"), account.id)
    assert (report.drift, report.errors) == ([], [])


@pytest.mark.parametrize("fault", ["error", "hang", "garble"])
def test_errors_hangs_and_garbled_answers_are_retried(world, proxied, fault, tv24_traffic):
    tv = world
    match = call("POST", "/v2/users/{id}/subscriptions")
    {"error": lambda: proxied.error(status=503, match=match),
     "hang": lambda: proxied.hang(match=match),
     "garble": lambda: proxied.garble(match=match)}[fault]()
    account = tv.account("79001234567", tv.tariff(base=2, addons=()))
    tv.drain()
    assert [c.fault for c in proxied.calls if c.fault] == [fault]
    forget_garbled(tv24_traffic)
    settled(tv)
    assert on_platform(tv, account) == (1, [(2, True, False, True)])


def test_a_garbled_list_fails_the_reconciliation_without_harm(world, proxied, tv24_traffic):
    tv = world
    account = tv.account("79001234567", tv.tariff(base=2, addons=()))
    tv.drain()
    proxied.garble(match=call("GET", "/v2/users"))
    report = reconcile(tv.runtime.context("tv24"), fix=True)
    assert report.drift == [] and len(report.errors) == 1
    assert "cannot read the platform" in report.errors[0]
    assert on_platform(tv, account) == (1, [(2, True, False, True)])
    assert reconcile(tv.runtime.context("tv24"), fix=True).errors == []
    forget_garbled(tv24_traffic)
