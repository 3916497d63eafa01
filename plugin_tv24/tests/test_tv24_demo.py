"""The demo as `make run` plays it: `abonent demo load` with the plugin, `abonent serve
--demo` starting the emulator, then a manager's account, a block and a self-registration
through the emulator's callbacks."""
from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from admin.app import create_app
from core import demo as core_demo
from core.blocking import set_block
from core.models import Account, Agent, Delivery, Tariff
from core.services.accounts import create_account
from core.services.customers import create_contract, create_subscriber
from plugin_tv24 import demo
from plugin_tv24.emulator import CallbackClient
from plugin_tv24.reconcile import reconcile


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def demo_emulator(runtime, monkeypatch, tv24_traffic):
    monkeypatch.setattr(demo, "PORT", free_port())
    with runtime.session(actor="cli") as s:
        assert core_demo.load(s, subscribers=3)
    (emulator,) = runtime.pm.call_one("abonent_demo_services", "tv24", runtime=runtime)
    yield emulator
    emulator.stop()


@pytest.fixture
def billing(runtime):
    server = make_server("127.0.0.1", 0, create_app(runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_the_demo_starts_in_line_with_the_billing(runtime, demo_emulator, drain):
    state = demo_emulator.state
    assert demo_emulator.url == f"http://127.0.0.1:{demo.PORT}"
    assert demo_emulator.callbacks.api_url == "http://127.0.0.1:8000/tv24/demo-secret"
    assert len(state.users) == len(demo.ACCOUNTS)  # the seeded three were linked, not doubled
    ivan = state.find_users({"phone": "79001234567"})[0]
    assert sorted(s.packet.id for s in state.user_subscriptions(ivan.id)) == [2, 10]
    drain()
    with runtime.session() as s:
        assert s.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.plugin == "tv24", Delivery.state != "done")) == 0
    assert len(state.users) == len(demo.ACCOUNTS) and len(state.subscriptions) == 8


def test_the_demo_start_sends_nothing_the_platform_refuses_and_converges(runtime, demo_emulator,
                                                                           drain):
    """The seeded users are found by phone (no POST refused as a duplicate), their
    provider_uid set to the account, a paused seed unpaused; then a second run, and the
    outbox, find nothing to do and send nothing."""
    state = demo_emulator.state
    refused = [(r.method, r.path, r.status) for r in state.requests if r.status >= 400]
    assert refused == []
    oleg = state.find_users({"phone": "79161112233"})[0]
    with runtime.session() as s:
        account = s.scalars(select(Account).where(Account.login == "oleg.k")).one()
        assert oleg.provider_uid == str(account.id)
    assert [s.packet.id for s in state.user_subscriptions(oleg.id, ("active",))] == [3]
    sent = len(state.requests)
    report = reconcile(runtime.context("tv24"), fix=True)
    assert (report.drift, report.errors) == ([], [])
    drain()
    assert [(r.method, r.path) for r in list(state.requests)[sent:] if r.method != "GET"] == []


def test_the_demo_flow(runtime, demo_emulator, drain, billing):
    """A manager's account appears on the platform, a block pauses it, and a phone
    registers itself through the emulator's callback once."""
    drain()
    with runtime.session(actor="manager:demo") as s:
        agent = s.scalars(select(Agent).where(Agent.name == demo.AGENT_NAME)).one()
        tariff = s.scalars(select(Tariff).where(Tariff.name == "24h TV Оптимальный")).one()
        subscriber = create_subscriber(s, name="Новый Абонент", phones=["79005551234"])
        contract = create_contract(s, subscriber.id)
        account = create_account(s, contract.id, login="79005551234", agent_id=agent.id,
                                 tariff_id=tariff.id)
    drain()
    state = demo_emulator.state
    (user,) = state.find_users({"phone": "79005551234"})
    assert user.provider_uid == str(account.id)
    assert [s.packet.id for s in state.user_subscriptions(user.id, ("active",))] == [2]
    with runtime.session(actor="manager:demo") as s:
        set_block(s, account.id, "admin")
    drain()
    assert [s.packet.id for s in state.user_subscriptions(user.id, ("paused",))] == [2]

    demo_emulator.callbacks = CallbackClient(f"{billing}/tv24/{demo.SECRET}")
    first = demo_emulator.callbacks.auth("79005559999")
    assert demo_emulator.callbacks.auth("79005559999") == first
    with runtime.session() as s:
        registered = s.get(Account, first["user_id"])
        assert (registered.login, registered.tariff.name) == ("79005559999", "24h TV Лайт")
        assert s.scalar(select(func.count()).select_from(Account).where(
            Account.login == "79005559999")) == 1
    drain()
    (new_user,) = state.find_users({"phone": "79005559999"})
    assert [s.packet.id for s in state.user_subscriptions(new_user.id)] == [1]
