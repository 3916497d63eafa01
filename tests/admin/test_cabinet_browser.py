"""A subscriber's journey in the cabinet at phone width (390×844) in Chromium: log in with
the phone, see the balance, connect a 24h TV add-on packet and see it arrive on the 24h
TV emulator (and in the cabinet's TV panel), read the statement, log out; log in to the
Internet account of the same contract and switch a voluntary block on and off, and see
the emulated NAS receive b_sys, then u_b_sys. Screenshots go to
test-output/screenshots/cabinet-*.png."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

import plugin_nas_oss.plugin
import plugin_tv24.plugin
from core.services import cabinet
from plugin_nas_oss.command_log import NasCommand
from plugin_nas_oss.emulator import NasEmulator
from plugin_tv24.emulator import Tv24Emulator
from tests.admin.test_admin_browser import cabinet_log_in

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
PASSWORD = "my tv pass 42"
NET_PASSWORD = "my net pass 43"
COA_SECRET = "cabinet-coa-secret"


@pytest.fixture
def abonent_plugins():
    return [("tv24", plugin_tv24.plugin), ("nas_oss", plugin_nas_oss.plugin)]


@pytest.fixture
def abonent_config():
    return {"plugins": {"tv24": {"connect_timeout": "1", "read_timeout": "2"}},
            "cabinet": {"block_min_days": 1, "session_idle_minutes": 10080}}


@pytest.fixture
def emulator():
    with Tv24Emulator(token="cabinet-token") as running:
        yield running


@pytest.fixture
def nas_emulator():
    with NasEmulator(COA_SECRET) as running:
        yield running


def commands(runtime, account_id: int) -> list[tuple[str, str]]:
    """(command, outcome) sent for the account, oldest first (the NAS plugin's log)."""
    with runtime.session() as s:
        return [tuple(row) for row in s.execute(select(
            NasCommand.command, NasCommand.outcome).where(
            NasCommand.account_id == account_id).order_by(NasCommand.id))]


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"cabinet-{name}.png"), full_page=True)


@pytest.mark.sqlite_only
def test_phone_journey(browser, live_server, runtime, factory, pay, drain, emulator, clock,
                       nas_emulator):
    clock.set(clock.now)
    base = factory.service("TV Optimal", price="299.00", agent_type="tv24", external_code="2")
    cinema = factory.service("TV Cinema", price="199.00", agent_type="tv24", external_code="10")
    agent = factory.agent(type="tv24", name="24h TV", api_url=emulator.url,
                          token=emulator.token, callback_secret="cabinet-secret",
                          allowed_sources=["127.0.0.1"])
    contract = factory.contract(subscriber=factory.subscriber(phones=["79001234567"]))
    account = factory.account(contract=contract, agent=agent, login="79001234567",
                              tariff=factory.tariff("TV home", base=[base], extra=[cinema]))
    nas = factory.agent(type="nas", name="NAS 1", address="127.0.0.1",
                        coa_port=nas_emulator.port, coa_secret=COA_SECRET,
                        radius_secret="cabinet-radius", timeout="0.5", retries=0)
    internet = factory.service("Internet 100M", price="500.00", agent_type="nas",
                               activate_string="100M/100M", deactivate_string="64k/64k")
    net = factory.account(contract=contract, agent=nas, login="net-4567",
                          tariff=factory.tariff("Internet", base=[internet]),
                          fields={"radius_password": "pw", "ip": "10.0.0.15"})
    with runtime.session() as s:
        cabinet.set_password(s, account.id, PASSWORD)
        cabinet.set_password(s, net.id, NET_PASSWORD)
    pay(contract, "1000.00")
    drain()
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                  locale="en-US", is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        cabinet_log_in(page, "+7 900 123-45-67", PASSWORD, before=lambda: shot(page, "1-login"))
        assert page.inner_text("#balance") == "1,000.00"
        shot(page, "2-home")

        page.click(f"#connect-{cinema.id}")
        assert "TV Cinema is connected." in page.inner_text(".flash")
        drain()
        user = emulator.state.find_users({"provider_uid": str(account.id)})[0]
        packets = {s.packet.id for s in emulator.state.user_subscriptions(user.id, ("current",))}
        assert packets == {2, 10}
        page.reload()
        assert "Кино" in page.inner_text(".panel[data-plugin='tv24']")
        shot(page, "3-connected")

        page.click("text=Statement")
        assert "1,000.00" in page.inner_text("#statement")  # the payment, then the packet
        shot(page, "4-statement")
        page.click("#logout")

        nas_emulator.state.open_session("net-4567", "10.0.0.15")  # the router is online
        cabinet_log_in(page, "net-4567", NET_PASSWORD)
        page.click("#block")
        assert "until you switch it off" in page.inner_text(".flash")
        assert page.inner_text("#state") == "voluntary block"
        shot(page, "5-blocked")
        drain()
        assert nas_emulator.state.session_of("net-4567").address_list == "voluntary_block"
        clock.advance(days=1, minutes=1)
        page.click("#unblock")
        assert page.inner_text("#state") == "active"
        shot(page, "6-unblocked")
        drain()
        session = nas_emulator.state.session_of("net-4567")
        assert (session.address_list, session.rate) == ("allowed", "100M/100M")
        log = commands(runtime, net.id)
        assert log[0] == ("usluga_activated", "no-session")  # before the router was online
        heard = [(a.kind, dict(a.attributes)) for a in nas_emulator.state.commands_for("net-4567")]
        assert len(heard) == len(log) - 1  # every command after the first reached the NAS
        assert [(command, outcome, kind, policy.get("Mikrotik-Address-List",
                                                    policy.get("Mikrotik-Rate-Limit")))
                for (command, outcome), (kind, policy) in zip(log[1:], heard)] == [
            ("user_drop", "ack", "coa", "negative_balance"),
            ("own_disabled", "ack", "coa", "voluntary_block"),
            ("b_sys", "ack", "coa", "voluntary_block"),
            ("usluga_deactivated", "ack", "coa", "64k/64k"),
            ("u_b_sys", "ack", "coa", "allowed"),
            ("user_accept", "ack", "coa", "allowed"),
            ("usluga_activated", "ack", "coa", "100M/100M")]
    finally:
        context.close()
