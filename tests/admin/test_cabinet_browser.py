"""A subscriber's journey in the cabinet at phone width (390×844) in Chromium: log in with
the phone, see the balance, connect a 24h TV add-on packet and see it arrive on the 24h
TV emulator (and in the cabinet's TV panel), switch a voluntary block on and off.
Screenshots go to test-output/screenshots/cabinet-*.png."""
from __future__ import annotations

from pathlib import Path

import pytest

import plugin_tv24.plugin
from core.services import cabinet
from plugin_tv24.emulator import Tv24Emulator

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
PASSWORD = "my tv pass 42"


@pytest.fixture
def abonent_plugins():
    return [("tv24", plugin_tv24.plugin)]


@pytest.fixture
def abonent_config():
    return {"plugins": {"tv24": {"connect_timeout": "1", "read_timeout": "2"}},
            "cabinet": {"block_min_days": 1, "session_idle_minutes": 10080}}


@pytest.fixture
def emulator():
    with Tv24Emulator(token="cabinet-token") as running:
        yield running


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"cabinet-{name}.png"), full_page=True)


@pytest.mark.sqlite_only
def test_phone_journey(browser, live_server, runtime, factory, pay, drain, emulator, clock):
    clock.set(clock.now)
    base = factory.service("TV Optimal", price="299.00", agent_type="tv24", external_code="2")
    cinema = factory.service("TV Cinema", price="199.00", agent_type="tv24", external_code="10")
    agent = factory.agent(type="tv24", name="24h TV", api_url=emulator.url,
                          token=emulator.token, callback_secret="cabinet-secret",
                          allowed_sources=["127.0.0.1"])
    contract = factory.contract(subscriber=factory.subscriber(phones=["79001234567"]))
    account = factory.account(contract=contract, agent=agent, login="79001234567",
                              tariff=factory.tariff("TV home", base=[base], extra=[cinema]))
    with runtime.session() as s:
        cabinet.set_password(s, account.id, PASSWORD)
    pay(contract, "1000.00")
    drain()
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                  locale="en-US", is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto("/my/")
        page.fill("#login", "+7 900 123-45-67")
        page.fill("#password", PASSWORD)
        shot(page, "1-login")
        page.click("button[type=submit]")
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

        page.click("#block")
        assert "until you switch it off" in page.inner_text(".flash")
        assert page.inner_text("#state") == "voluntary block"
        shot(page, "4-blocked")
        clock.advance(days=1, minutes=1)
        page.click("#unblock")
        assert page.inner_text("#state") == "active"
        shot(page, "5-unblocked")
        page.click("text=Statement")
        assert "1,000.00" in page.inner_text("#statement")  # the payment, then the packet
        shot(page, "6-statement")
    finally:
        context.close()
