"""Billing → platform through the outbox, against the emulator over HTTP: accounts,
packets, blocks, trash, tariff changes, device limits; idempotent when delivered twice
or when the platform already holds what the billing creates; refusals dead-lettered with
the platform's reason. Every exchange is validated against the OpenAPI spec (``tv``)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import event, select, update

from core.blocking import lift_block, set_block
from core.events import Event
from core.models import Delivery, OutboxEvent, Subscription
from core.services.accounts import change_account, change_tariff, restore_account, trash_account
from core.services.subscriptions import activate, assign_service, deactivate, expire_due, remove
from plugin_tv24 import store
from plugin_tv24.emulator.forms import NewSubscription
from plugin_tv24.reconcile import reconcile
from plugins.outbox import Claimed, Outbox, counts


def states(runtime) -> dict[tuple[str, str], int]:
    with runtime.session() as s:
        return {key: n for key, n in counts(s).items() if key[0] == "tv24"}


def dead_letters(runtime) -> list[str]:
    with runtime.session() as s:
        return [d.last_error for d in s.scalars(select(Delivery).where(
            Delivery.plugin == "tv24", Delivery.state == "dead").order_by(Delivery.id))]


def in_session(runtime, function, *args, **kwargs):
    with runtime.session(actor="test") as s:
        return function(s, *args, **kwargs)


# --- accounts -------------------------------------------------------------------------------

def test_account_with_a_tv_tariff_creates_the_user_and_the_base_subscription(tv):
    account = tv.account("79001234567", tv.tariff(base=2, device_limit=4))
    tv.drain()
    user = tv.user(account.id)
    assert (user.username, user.phone, user.device_limit, user.is_active) == (
        "79001234567", "79001234567", 4, True)
    assert tv.packets(account.id) == [2]
    (base,) = tv.emulator.state.user_subscriptions(user.id)
    assert base.renew is True
    with tv.runtime.session() as s:
        assert store.user_id(s, account.id) == user.id
    assert states(tv.runtime) == {("tv24", "done"): 2}


def test_tv24_username_is_the_identity_and_the_device_limit_overrides_the_tariff(tv):
    account = tv.account("ivan.petrov", tv.tariff(device_limit=5),
                         fields={"tv24_username": "79001112233", "tv24_devicelimit": 2})
    tv.drain()
    user = tv.user(account.id)
    assert (user.username, user.phone, user.device_limit) == ("79001112233", "79001112233", 2)


def test_a_user_already_on_the_platform_is_linked_not_duplicated(tv):
    """Registered in the app with this phone and a packet bought there: the billing links
    both instead of failing on "User with this phone already exists"."""
    existing = tv.emulator.state.create_user({"username": "app-user", "phone": "79001234567"})
    (bought,) = tv.emulator.state.create_subscriptions(existing.id, [NewSubscription(2)])
    account = tv.account("79001234567")
    tv.drain()
    assert len(tv.emulator.state.users) == 1
    assert existing.provider_uid == str(account.id)
    assert tv.packets(account.id) == [2] and len(tv.emulator.state.subscriptions) == 1
    with tv.runtime.session() as s:
        assert store.user_id(s, account.id) == existing.id
        assert store.subscription_of(s, bought.id) is not None
    assert states(tv.runtime) == {("tv24", "done"): 2}


def test_a_phone_linked_to_another_account_is_a_dead_letter_saying_so(tv):
    first = tv.account("79001234567")
    tv.drain()
    tv.account("second", fields={"tv24_username": "79001234567"}, contract=None)
    tv.drain()
    owner = tv.user(first.id)
    (reason, _) = dead_letters(tv.runtime)  # the user; its subscription cannot follow
    assert reason == (f"rejected: phone 79001234567 belongs to platform user {owner.id}, "
                      f"which is linked to account {first.id}")
    assert len(tv.emulator.state.users) == 1


def test_login_and_device_limit_changes_are_patched(tv):
    account = tv.account("79001234567", tv.tariff(device_limit=3))
    tv.drain()
    in_session(tv.runtime, change_account, account.id, fields={"tv24_devicelimit": 7})
    tv.drain()
    assert tv.user(account.id).device_limit == 7
    in_session(tv.runtime, change_account, account.id, login="79009998877",
               fields={"tv24_devicelimit": 7})
    tv.drain()
    user = tv.user(account.id)
    assert (user.username, user.phone, user.device_limit) == ("79009998877", "79009998877", 7)
    assert [r.body for r in tv.calls("PATCH")] == [
        {"device_limit": 7}, {"username": "79009998877", "phone": "79009998877"}]


def test_trash_pauses_and_deactivates_restore_brings_back(tv):
    account = tv.account()
    tv.drain()
    in_session(tv.runtime, trash_account, account.id)
    tv.drain()
    user = tv.user(account.id)
    assert user.is_active is False and tv.packets(account.id, "paused") == [2]
    in_session(tv.runtime, restore_account, account.id)
    tv.drain()
    assert user.is_active is True and tv.packets(account.id, "active") == [2]


# --- packets --------------------------------------------------------------------------------

def test_add_ons_follow_assignment_deactivation_and_removal(tv):
    account = tv.account()
    tv.drain()
    addon = in_session(tv.runtime, assign_service, account.id, tv.services[10].id)
    tv.drain()
    assert tv.packets(account.id) == [2, 10]
    in_session(tv.runtime, deactivate, addon.id)
    tv.drain()
    assert tv.packets(account.id) == [2]
    in_session(tv.runtime, activate, addon.id)
    tv.drain()
    assert tv.packets(account.id) == [2, 10]
    in_session(tv.runtime, remove, addon.id)
    tv.drain()
    assert tv.packets(account.id) == [2]
    assert states(tv.runtime) == {("tv24", "done"): 6}


def test_a_dated_add_on_ends_on_its_last_day_and_expires(tv):
    account = tv.account()
    last = date.today() + timedelta(days=3)
    addon = in_session(tv.runtime, assign_service, account.id, tv.services[11].id, end_on=last)
    tv.drain()
    user = tv.user(account.id)
    sub = next(s for s in tv.emulator.state.user_subscriptions(user.id) if s.packet.id == 11)
    assert sub.end_at == datetime.combine(last, datetime.max.time(), timezone.utc).replace(microsecond=0)
    assert sub.renew is False
    in_session(tv.runtime, expire_due, last + timedelta(days=1))
    tv.drain()
    assert tv.packets(account.id) == [2]
    with tv.runtime.session() as s:
        assert store.subscription_link(s, addon.id) is None


def test_services_that_are_not_packets_are_left_alone(tv):
    internet = tv.factory.service(name="Internet")
    account = tv.account(tariff=tv.factory.tariff(base=[tv.services[1], internet]))
    tv.drain()
    assert tv.packets(account.id) == [1]
    assert len(tv.calls("POST", "/subscriptions")) == 1


def test_a_refused_packet_is_a_dead_letter_with_the_platforms_reason(tv):
    ghost = tv.factory.service(name="Gone", agent_type="tv24", external_code="999")
    account = tv.account(tariff=tv.factory.tariff(base=[tv.services[2]], extra=[ghost]))
    in_session(tv.runtime, assign_service, account.id, ghost.id)
    tv.drain()
    user = tv.user(account.id)
    assert dead_letters(tv.runtime) == [
        f"rejected: 24h TV refused POST /v2/users/{user.id}/subscriptions: "
        f"HTTP 400: packet_id: Packet 999 does not exist."]


# --- blocks ---------------------------------------------------------------------------------

def test_blocks_pause_everything_once_and_unpause_when_the_last_lifts(tv):
    account = tv.account()
    in_session(tv.runtime, assign_service, account.id, tv.services[10].id)
    tv.drain()
    in_session(tv.runtime, set_block, account.id, "admin")
    tv.drain()
    assert tv.packets(account.id, "paused") == [2, 10]
    in_session(tv.runtime, set_block, account.id, "voluntary")
    in_session(tv.runtime, lift_block, account.id, "admin")
    tv.drain()
    assert tv.packets(account.id, "paused") == [2, 10]  # still blocked (voluntary)
    in_session(tv.runtime, lift_block, account.id, "voluntary")
    tv.drain()
    assert tv.packets(account.id, "active") == [2, 10]
    assert [r.path.rsplit("/", 1)[-1] for r in tv.calls(path_part="pauses")] == ["pauses", "delete"]


def test_blocks_are_delivered_on_the_facts_read_with_the_claim(tv):
    """Each delivery finds its agent and user link in `event.facts`: no transaction of its
    own before the platform call (only the outbox's claims and records remain)."""
    accounts = [tv.account(login=f"790012345{n:02d}") for n in range(10)]
    tv.drain()
    for account in accounts:
        in_session(tv.runtime, set_block, account.id, "admin")
    begun = []

    def count(connection):
        begun.append(connection)
    event.listen(tv.runtime.engine, "begin", count)
    try:
        tv.drain()
    finally:
        event.remove(tv.runtime.engine, "begin", count)
    assert all(tv.packets(account.id, "paused") == [2] for account in accounts)
    assert len(begun) < len(accounts)


def test_a_packet_assigned_while_blocked_starts_paused(tv):
    account = tv.account()
    in_session(tv.runtime, set_block, account.id, "admin")
    in_session(tv.runtime, assign_service, account.id, tv.services[11].id)
    tv.drain()
    assert tv.packets(account.id, "paused") == [2, 11]
    assert tv.packets(account.id, "active") == []


def test_a_rate_limit_waits_without_counting_a_failure(tv):
    tv.account()
    tv.emulator.faults.fail_next(1, status=429)
    Outbox(tv.runtime, "w").run_once()
    with tv.runtime.session() as s:
        head = s.scalars(select(Delivery).order_by(Delivery.id)).first()
        assert (head.state, head.attempts) == ("pending", 0)
        assert head.last_error.startswith("retry later: 24h TV rate limit")


# --- tariff changes -------------------------------------------------------------------------

def test_an_upgrade_ends_the_old_base_at_once(tv):
    light, optimal = tv.tariff(base=1, addons=(11,)), tv.tariff(base=2, addons=(11,), device_limit=6)
    account = tv.account(tariff=light)
    in_session(tv.runtime, assign_service, account.id, tv.services[11].id)
    tv.drain()
    in_session(tv.runtime, change_tariff, account.id, optimal.id)
    tv.drain()
    assert tv.packets(account.id) == [2, 11]
    assert tv.user(account.id).device_limit == 6
    assert not dead_letters(tv.runtime)


def test_a_downgrade_lets_the_paid_period_run_out_and_plans_the_new_base(tv):
    premium, light = tv.tariff(base=3, addons=()), tv.tariff(base=1, addons=())
    account = tv.account(tariff=premium)
    tv.drain()
    in_session(tv.runtime, change_tariff, account.id, light.id)
    tv.drain()
    assert tv.packets(account.id) == [3] and tv.packets(account.id, "planned") == [1]
    old, planned = sorted(tv.emulator.state.user_subscriptions(tv.user(account.id).id),
                          key=lambda s: s.start_at)
    assert old.renew is False
    assert planned.start_at == old.end_at + timedelta(seconds=1) and planned.renew is True
    assert not dead_letters(tv.runtime)
    assert reconcile(tv.runtime.context("tv24"), account.id).drift == []


def test_an_upgrade_back_within_the_paid_period_takes_the_old_subscription_back(tv):
    """Premium → Light (a downgrade: Premium runs out, Light planned after it) → Premium
    again: the platform refuses a second Premium for the period, so the one winding down
    renews again and is linked to the new billing subscription; Light is never started."""
    premium, light = tv.tariff(base=3, addons=()), tv.tariff(base=1, addons=())
    account = tv.account(tariff=premium)
    tv.drain()
    in_session(tv.runtime, change_tariff, account.id, light.id)
    tv.drain()
    (old,) = tv.emulator.state.user_subscriptions(tv.user(account.id).id, ("current",))
    in_session(tv.runtime, change_tariff, account.id, premium.id)
    tv.drain()
    assert not dead_letters(tv.runtime)
    assert tv.packets(account.id) == [3] and tv.packets(account.id, "planned") == []
    assert [s.id for s in tv.emulator.state.user_subscriptions(tv.user(account.id).id)] == [old.id]
    assert old.renew is True
    with tv.runtime.session() as s:
        live = s.scalars(select(Subscription).where(Subscription.account_id == account.id,
                                                    Subscription.state == "active")).one()
        assert store.subscription_link(s, live.id).external_id == old.id
    assert reconcile(tv.runtime.context("tv24"), account.id).drift == []


def test_an_upgrade_back_after_the_old_period_ran_out_starts_a_new_subscription(tv):
    premium, light = tv.tariff(base=3, addons=()), tv.tariff(base=1, addons=())
    account = tv.account(tariff=premium)
    tv.drain()
    in_session(tv.runtime, change_tariff, account.id, light.id)
    tv.drain()
    (old,) = tv.emulator.state.user_subscriptions(tv.user(account.id).id, ("current",))
    old.end_at = tv.emulator.state.clock() - timedelta(seconds=1)  # ran out, link still there
    in_session(tv.runtime, change_tariff, account.id, premium.id)
    tv.drain()
    assert not dead_letters(tv.runtime)
    (new,) = tv.emulator.state.user_subscriptions(tv.user(account.id).id, ("current",))
    assert new.id != old.id and new.packet.id == 3 and new.renew is True


def test_sync_fix_repairs_an_upgrade_back_that_was_refused(tv):
    """The state an older plugin left: the upgrade back dead-lettered, the platform still
    holds Premium winding down and Light planned."""
    premium, light = tv.tariff(base=3, addons=()), tv.tariff(base=1, addons=())
    account = tv.account(tariff=premium)
    tv.drain()
    in_session(tv.runtime, change_tariff, account.id, light.id)
    tv.drain()
    in_session(tv.runtime, change_tariff, account.id, premium.id)
    with tv.runtime.session() as s:  # nothing of the upgrade back reached the platform
        s.execute(update(Delivery).where(Delivery.state == "pending").values(
            state="dead", last_error="24h TV refused: already has a subscription"))
    (old,) = tv.emulator.state.user_subscriptions(tv.user(account.id).id, ("current",))
    assert tv.packets(account.id, "planned") == [1]
    report = reconcile(tv.runtime.context("tv24"), account.id, fix=True)
    assert report.errors == [] and all(item["fixed"] for item in report.drift)
    assert tv.packets(account.id) == [3] and tv.packets(account.id, "planned") == []
    assert old.renew is True and tv.packets(account.id, "active") == [3]
    assert reconcile(tv.runtime.context("tv24"), account.id).drift == []


# --- delivered twice ------------------------------------------------------------------------

def test_every_event_delivered_again_changes_nothing(tv):
    account = tv.account()
    in_session(tv.runtime, assign_service, account.id, tv.services[10].id)
    in_session(tv.runtime, set_block, account.id, "admin")
    tv.drain()
    before = (len(tv.emulator.state.users), len(tv.emulator.state.subscriptions),
              len(tv.emulator.state.pauses))
    outbox = Outbox(tv.runtime, "again")
    with tv.runtime.session() as s:  # delivered as claimed without facts read ahead
        events = [Event(row.id, row.name, row.account_id, row.contract_id, row.payload,
                        row.created_at, f"{row.id}:tv24", 2)
                  for row in s.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
    for again in events:
        assert outbox.deliver(Claimed(0, "tv24", 2, again)) == ("done", None)
    after = (len(tv.emulator.state.users), len(tv.emulator.state.subscriptions),
             len(tv.emulator.state.pauses))
    assert after == before == (1, 2, 2)
    assert [r.path for r in tv.calls("POST") if r.path == "/v2/users"] == ["/v2/users"]


def test_moving_to_another_agent_leaves_the_platform_and_coming_back_rejoins(tv):
    account = tv.account()
    tv.drain()
    internet = tv.factory.agent(type="generic")
    in_session(tv.runtime, change_account, account.id, agent_id=internet.id, fields={})
    tv.drain()
    user = tv.user(account.id)
    assert user.is_active is False and tv.packets(account.id, "paused") == [2]
    with tv.runtime.session() as s:
        assert store.user_id(s, account.id) is None
    in_session(tv.runtime, change_account, account.id, agent_id=tv.agent.id, fields={})
    tv.drain()
    assert user.is_active is True and tv.packets(account.id, "active") == [2]
    assert len(tv.emulator.state.users) == 1 and len(tv.emulator.state.subscriptions) == 1
    assert not dead_letters(tv.runtime)
