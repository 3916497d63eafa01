"""HelpDesk in Chromium: a subscriber at phone width (390×844) opens a request in the
cabinet, a manager (another browser context) finds it in the HelpDesk queue and answers,
the subscriber sees the answer. Screenshots go to test-output/screenshots/helpdesk-*.png."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.services import cabinet
from tests.admin.test_admin_browser import cabinet_log_in, log_in

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
PASSWORD = "my desk pass 42"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"helpdesk-{name}.png"), full_page=True)


@pytest.mark.sqlite_only
def test_a_request_answered(browser, live_server, page, runtime, factory, set_up, manager,
                            password):
    account = factory.account(login="79001234567", contract=factory.contract(
        subscriber=factory.subscriber(name="Anna Petrova")))
    with runtime.session() as s:
        cabinet.set_password(s, account.id, PASSWORD)
    manager("olga", "manager")
    phone = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                locale="en-US", is_mobile=True, has_touch=True)
    subscriber = phone.new_page()
    try:
        cabinet_log_in(subscriber, "79001234567", PASSWORD)
        subscriber.click("#my-requests")
        subscriber.select_option("#category", "internet")
        subscriber.fill("#subject", "No internet since noon")
        subscriber.fill("#text", "The router's light is red.")
        shot(subscriber, "1-new-request")
        subscriber.click("#send-request")
        assert "is sent" in subscriber.inner_text(".flash")
        shot(subscriber, "2-sent")

        log_in(page, "olga", password)
        page.goto("/admin/helpdesk/")
        page.click("text=No internet since noon")
        page.fill("#text", "We restarted your port; please switch the router off and on.")
        page.click("#send-answer")
        assert page.inner_text("#ticket-status") == "In work"
        shot(page, "3-manager-answered")

        subscriber.reload()
        assert "We restarted your port" in subscriber.inner_text("main")
        assert subscriber.inner_text("#request-status") == "In work"
        shot(subscriber, "4-answer-seen")
    finally:
        phone.close()
