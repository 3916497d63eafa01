"""Platform → billing: the callback blueprint registered in the web application
(admin.app.create_app) and served on a real socket, driven by the emulator's callback
client as the platform drives it: self-registration once per phone, purchases charged or
refused with nothing assigned, switching off, the balance; every bad request answered
with JSON in the platform's format, never a 500; every callback in the audit log."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from admin.app import create_app
from core.models import Account, AuditEntry, Charge, Operator, Subscription
from core.services.payments import record_payment
from plugin_tv24 import store
from plugin_tv24.emulator import CallbackClient
from plugin_tv24.emulator.forms import NewSubscription
from plugin_tv24.reconcile import reconcile


@pytest.fixture
def billing(runtime):
    """The web application on 127.0.0.1:<free port>, as `abonent serve` runs it."""
    server = make_server("127.0.0.1", 0, create_app(runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def platform(tv, billing) -> CallbackClient:
    return CallbackClient(f"{billing}/tv24/{tv.secret}")


def count(runtime, model, *where) -> int:
    with runtime.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def funded(tv, amount="1000.00", **kw):
    account = tv.account(**kw)
    with tv.runtime.session() as s:
        record_payment(s, account.contract_id, amount, source="bank", external_id=f"p{account.id}")
    return account


# --- auth -----------------------------------------------------------------------------------

def test_auth_finds_the_account_by_login_tv24_username_or_card_phone(tv, platform):
    by_login = tv.account("79001234567")
    by_field = tv.account("oleg.k", fields={"tv24_username": "79161112233"})
    card = tv.factory.subscriber(phones=["+7 (900) 765-43-21"])
    by_card = tv.account("maria", contract=tv.factory.contract(card),
                         fields={"tv24_username": "79990000000"})
    assert platform.auth("79001234567") == {"user_id": by_login.id}
    assert platform.auth("79161112233", ip="10.1.2.3") == {"user_id": by_field.id}
    assert platform.auth("+79007654321") == {"user_id": by_card.id}
    assert platform.auth("89001234567") == {"user_id": by_login.id}  # trunk prefix 8


def test_an_unknown_phone_without_self_registration_is_refused(tv, platform):
    reply = platform.auth("79005550001")
    assert reply["status"] == -1 and reply["err"] == 1
    assert "self-registration is off" in reply["errmsg"]
    assert count(tv.runtime, Account) == 0


def test_self_registration_creates_the_account_once(tv, platform):
    light = tv.tariff(base=1, addons=())
    tv.configure(default_tar_id=light.id)
    reply = platform.auth("79005550001", mbr_id=100777)
    again = platform.auth("79005550001", mbr_id=100777)
    assert reply == again and set(reply) == {"user_id"}
    with tv.runtime.session() as s:
        account = s.get(Account, reply["user_id"])
        assert (account.login, account.agent_id, account.tariff_id) == (
            "79005550001", tv.agent.id, light.id)
        assert account.contract.subscriber.phones[0].number == "79005550001"
        assert store.user_id(s, account.id) == 100777
    assert count(tv.runtime, Account) == 1


def test_concurrent_registrations_of_one_phone_make_one_account(tv, platform):
    tv.configure(default_tar_id=tv.tariff().id)
    replies = []

    def register():
        replies.append(CallbackClient(platform.api_url).auth("79005550002"))

    threads = [threading.Thread(target=register) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(replies) == 8 and len({r.get("user_id") for r in replies}) == 1, replies
    assert count(tv.runtime, Account) == 1


def test_self_registration_without_a_contract_number_plan_is_said_at_start_up(tv, caplog):
    tv.configure(default_tar_id=tv.tariff().id)
    with caplog.at_level("WARNING", logger="abonent.tv24"):
        create_app(tv.runtime)
    assert not [r for r in caplog.records if "contract number plan" in r.getMessage()]
    with tv.runtime.session() as s:
        s.scalars(select(Operator)).one().contract_plan_id = None
    with caplog.at_level("WARNING", logger="abonent.tv24"):
        create_app(tv.runtime)
    (warning,) = [r.getMessage() for r in caplog.records if "contract number plan" in r.getMessage()]
    assert f"24h TV agent {tv.agent.id}" in warning and "self-registration" in warning


def test_a_subscriber_without_a_tv_account_gets_one_on_its_contract(tv, platform):
    tv.configure(default_tar_id=tv.tariff().id)
    contract = tv.factory.contract(tv.factory.subscriber(phones=["79005550003"]))
    reply = platform.auth("79005550003")
    with tv.runtime.session() as s:
        assert s.get(Account, reply["user_id"]).contract_id == contract.id


def test_the_registered_user_gets_its_base_packet_without_a_second_user(tv, platform):
    """The app registered the user (mbr_id); the billing links it and subscribes it."""
    tv.configure(default_tar_id=tv.tariff(base=1, addons=()).id)
    user = tv.emulator.state.create_user({"username": "79005550004", "phone": "79005550004"})
    account_id = platform.auth("79005550004", mbr_id=user.id)["user_id"]
    tv.drain()
    assert len(tv.emulator.state.users) == 1
    assert [r for r in tv.calls("POST") if r.path == "/v2/users"] == []
    assert [s.packet.id for s in tv.emulator.state.user_subscriptions(user.id)] == [1]
    assert account_id


def test_auth_sets_the_provider_uid_of_the_app_registered_user(tv, platform):
    """The platform leaves provider_uid empty: the billing sets it to the account it
    linked, before it replies; another account's user is left alone."""
    account = tv.account("79005550005")
    user = tv.emulator.state.create_user({"username": "79005550005", "phone": "79005550005"})
    assert platform.auth("79005550005", mbr_id=user.id) == {"user_id": account.id}
    assert user.provider_uid == str(account.id)
    stranger = tv.emulator.state.create_user({"username": "x", "phone": "79005550006"})
    platform.auth("79005550005", mbr_id=stranger.id)  # the account keeps its linked user
    assert stranger.provider_uid == ""


def test_auth_replies_even_when_the_platform_cannot_take_the_provider_uid(tv, platform):
    account = tv.account("79005550007")
    user = tv.emulator.state.create_user({"username": "79005550007", "phone": "79005550007"})
    tv.emulator.faults.down()
    assert platform.auth("79005550007", mbr_id=user.id) == {"user_id": account.id}
    tv.emulator.faults.up()
    assert user.provider_uid == ""
    report = reconcile(tv.runtime.context("tv24"), account.id, fix=True)
    assert ("provider_uid", True) in [(d["kind"], d["fixed"]) for d in report.drift]
    assert user.provider_uid == str(account.id)
    assert reconcile(tv.runtime.context("tv24"), account.id).drift == []


# --- packet ---------------------------------------------------------------------------------

def buy(platform, account, packet=10, price="199.00", user_id=100001):
    return platform.packet(str(account.id), packet, packet, price,
                           {"id": user_id, "phone": account.login, "provider_uid": str(account.id)})


def test_a_packet_bought_in_the_app_is_assigned_and_charged_once(tv, platform):
    account = funded(tv)
    tv.drain()
    user = tv.user(account.id)
    assert buy(platform, account, user_id=user.id) == {"status": 1}
    assert buy(platform, account, user_id=user.id) == {"status": 1}  # repeated: nothing more
    with tv.runtime.session() as s:
        (addon,) = s.scalars(select(Subscription).where(
            Subscription.account_id == account.id, Subscription.service_id == tv.services[10].id))
        assert addon.state == "active"
        assert s.scalar(select(func.count()).select_from(Charge).where(
            Charge.subscription_id == addon.id)) == 1
    # the platform subscribes the user itself; the billing's own delivery finds it there
    tv.emulator.state.create_subscriptions(user.id, [NewSubscription(10)])
    tv.drain()
    assert tv.packets(account.id) == [2, 10] and len(tv.emulator.state.subscriptions) == 2


def test_insufficient_funds_is_minus_2_and_assigns_nothing(tv, platform):
    account = funded(tv, amount="50.00")
    before = (count(tv.runtime, Subscription), count(tv.runtime, Charge))
    reply = buy(platform, account)
    assert reply["status"] == -2 and "insufficient funds" in reply["errmsg"]
    assert (count(tv.runtime, Subscription), count(tv.runtime, Charge)) == before
    assert platform.balance(str(account.id)) == {"balance": "50.00"}


@pytest.mark.parametrize("packet, status", [(12, -3), (999, -3)])
def test_a_packet_the_tariff_does_not_sell_is_minus_3(tv, platform, packet, status):
    account = funded(tv)
    reply = buy(platform, account, packet=packet)
    assert reply["status"] == status and f"packet {packet} is not sold" in reply["errmsg"]


def test_an_unknown_or_trashed_account_is_minus_1(tv, platform):
    reply = platform.packet("424242", 10, 10, "199.00", {"id": 1, "phone": "7", "provider_uid": "x"})
    assert reply["status"] == -1
    assert platform.balance("424242")["status"] == -1


# --- delete_subscription and balance --------------------------------------------------------

def test_switching_a_packet_off_deactivates_it_once(tv, platform):
    account = funded(tv)
    tv.drain()
    buy(platform, account, user_id=tv.user(account.id).id)
    tv.drain()
    (platform_sub,) = [s for s in tv.emulator.state.subscriptions.values() if s.packet.id == 10]
    assert platform.delete_subscription(str(account.id), platform_sub.id, 10) == {"status": 1}
    assert platform.delete_subscription(str(account.id), platform_sub.id, 10) == {"status": 1}
    with tv.runtime.session() as s:
        addon = s.scalars(select(Subscription).where(
            Subscription.service_id == tv.services[10].id)).one()
        assert addon.state == "inactive"
    tv.drain()
    assert tv.packets(account.id) == [2]
    reply = platform.delete_subscription(str(account.id), "5999999", 13)
    assert reply["status"] == -4


def test_balance_is_a_decimal_string(tv, platform):
    account = funded(tv, amount="1234.5")
    assert platform.balance(str(account.id)) == {"balance": "1234.50"}


# --- bad requests ---------------------------------------------------------------------------

@pytest.mark.parametrize("path, params, body, status, message", [
    ("auth", {}, None, 400, "phone: is required"),
    ("auth", {"phone": "12345"}, None, 400, "phone: '12345' must be a mobile phone"),
    ("auth", {"phone": "79001234567", "mbr_id": "x1"}, None, 400, "mbr_id: must be a whole number"),
    ("packet", {"trf_id": "10"}, {"packet": {"id": 10}}, 400, "user_id: is required"),
    ("packet", {"user_id": "abc"}, {"packet": {"id": 10}}, 400, "user_id: must be a whole number"),
    ("packet", {"user_id": "1"}, None, 400, "packet.id: is required"),
    ("packet", {"user_id": "1"}, {"packet": "10"}, 400, "packet: must be a JSON object"),
    ("packet", {"user_id": "1"}, {"packet": {"id": "ten"}}, 400, "packet.id: must be a whole number"),
    ("packet", {"user_id": "1"}, b"{not json", 400, "body: is not valid JSON"),
    ("delete_subscription", {"user_id": "1"}, {}, 400, "sub_id: is required"),
    ("balance", {"user_id": "-5"}, None, 400, "user_id: must be a whole number"),
    ("refund", {"user_id": "1"}, None, 404, "unknown callback 'refund'"),
    ("auth", {"phone": "7900\x001234567"}, None, 400, "The request contains a NUL character."),
    ("balance", {"user_id": "1\x00"}, None, 400, "The request contains a NUL character."),
    ("packet", {"user_id": "1"}, b"[" * 1000, 400, "body: is nested too deeply"),
])
def test_malformed_callbacks_get_a_json_error(tv, billing, path, params, body, status, message):
    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
    response = requests.post(f"{billing}/tv24/{tv.secret}/{path}", params=params, timeout=5, **kwargs)
    assert response.status_code == status
    reply = response.json()
    assert reply["status"] == -3 and reply["err"] == status and reply["errmsg"].startswith(message)


def test_a_wrong_secret_or_a_stray_path_is_404(tv, billing):
    for url in (f"{billing}/tv24/not-the-secret/auth", f"{billing}/tv24/", f"{billing}/tv24/a/b/c",
                f"{billing}/tv24//balance", f"{billing}/tv24", f"{billing}/tv24/{tv.secret}//balance",
                f"{billing}/tv24/{tv.secret}/balance/"):
        response = requests.post(url, params={"phone": "79001234567"}, timeout=5,
                                 allow_redirects=False)
        assert response.status_code == 404 and response.json()["status"] == -3, url


def test_a_source_outside_the_allow_list_is_403(tv, billing):
    tv.configure(allowed_sources=["10.0.0.0/8"])
    response = requests.post(f"{billing}/tv24/{tv.secret}/auth", params={"phone": "79001234567"},
                             timeout=5)
    assert response.status_code == 403
    assert response.json()["errmsg"] == "address 127.0.0.1 is not allowed to call back"


def test_a_get_is_405(tv, billing):
    response = requests.get(f"{billing}/tv24/{tv.secret}/balance", params={"user_id": 1}, timeout=5)
    assert response.status_code == 405 and response.json()["err"] == 405


@pytest.mark.parametrize("chunked", [False, True])
def test_a_huge_body_is_413_unread(tv, billing, chunked):
    huge = b"{" + b" " * 200_000 + b"}"
    data = iter([huge[i:i + 8192] for i in range(0, len(huge), 8192)]) if chunked else huge
    response = requests.post(f"{billing}/tv24/{tv.secret}/packet", params={"user_id": 1},
                             data=data, timeout=5)
    assert response.status_code == 413 and response.json()["errmsg"].startswith("body:")


# --- the audit log --------------------------------------------------------------------------

def test_every_callback_is_in_the_audit_log(tv, platform):
    account = funded(tv, amount="10.00")
    platform.auth(account.login)
    buy(platform, account)  # refused: -2
    platform.balance(str(account.id))
    with tv.runtime.session() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.action.like("tv24.%"))
                                 .order_by(AuditEntry.id)))
    assert [(e.action, e.actor, e.object_id) for e in entries] == [
        ("tv24.auth", "plugin:tv24", str(account.id)),
        ("tv24.packet", "plugin:tv24", str(account.id)),
        ("tv24.balance", "plugin:tv24", str(account.id))]
    packet = entries[1].changes
    assert packet["reply"]["status"] == -2 and packet["params"]["packet_id"] == 10
    assert packet["source"] == "127.0.0.1" and packet["agent_id"] == tv.agent.id
    assert Decimal(entries[2].changes["reply"]["balance"]) == Decimal("10.00")
