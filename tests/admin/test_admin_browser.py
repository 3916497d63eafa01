"""The admin in a real browser: Playwright driving Debian's Chromium (the `browser` and
`page` fixtures of tests/admin/conftest.py) against the app on a real socket. The main pages are saved as screenshots under test-output/screenshots/ for a
person to look at."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from admin import staff
from core import demo
from core.models import Account, Delivery, Payment

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
@pytest.fixture
def abonent_plugins(listener):
    return [("listener", listener)]


@pytest.fixture
def demo_data(runtime):
    with runtime.session(actor="test") as s:
        demo.load(s, subscribers=40)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page, login: str, password: str) -> None:
    page.goto("/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("#login-submit")


def cabinet_log_in(page, login: str, password: str, before=None) -> None:
    """The subscriber's cabinet login (/my/); `before` runs on the filled form (a screenshot)."""
    page.goto("/my/")
    page.fill("#login", login)
    page.fill("#password", password)
    if before is not None:
        before()
    page.click("button[type=submit]")


def log_out(page) -> None:
    """The user menu's Log out. Bootstrap opens the menu once its script has run: on a
    busy machine the first click can come before that, so the menu is opened again
    until the item shows."""
    page.wait_for_load_state("load")
    for _ in range(5):
        page.click("#user-menu")
        try:
            page.locator("#logout").wait_for(state="visible", timeout=2000)
            break
        except PlaywrightTimeout:
            continue
    page.click("#logout")


def flash(page) -> str:
    return " ".join(page.locator(".flash").all_inner_texts())


def test_first_start_then_login(page, runtime, password):
    page.goto("/admin/")
    assert "No administrator has a password yet" in page.inner_text("#not-set-up")
    shot(page, "01-first-start-not-set-up")
    link = staff.first_start_link(runtime, "")
    page.goto(link)
    page.fill("#password", "short")
    page.fill("#confirm", "short")
    page.click("#setup-submit")
    assert "at least 8 characters" in page.inner_text("#setup-form")
    page.fill("#password", password)
    page.fill("#confirm", password)
    shot(page, "02-set-password")
    page.click("#setup-submit")
    assert "Your password is set" in flash(page)
    log_out(page)
    log_in(page, "admin", "wrong password")
    assert "Wrong login or password" in page.inner_text("#login-form")
    shot(page, "03-login-refused")
    log_in(page, "admin", password)
    assert page.url.endswith("/admin/")
    page.goto(link)
    assert "not valid" in page.inner_text("#setup-invalid")


def test_operator_journey(page, runtime, set_up, demo_data, password, drain):
    log_in(page, "admin", password)
    page.goto("/admin/?refresh=1")
    shot(page, "04-dashboard")
    page.click("#new-subscriber")
    page.fill("#name", "Anna Smirnova")
    page.fill("#phones", "+7 (912) 000-11-22")
    page.fill("#email", "anna@example.net")
    page.fill("#addresses", "Demo-city, Mira st. 5, apt 12")
    page.click("input[type=submit][value=Save]")
    assert page.inner_text("#subscriber-name") == "Anna Smirnova"
    shot(page, "05a-subscriber-card")
    page.click("#new-contract")
    assert "New contract for Anna Smirnova" in page.inner_text("#contract-for")
    page.fill("#credit_limit", "100")
    page.click("input[type=submit][value=Save]")
    contract = page.inner_text("#contract-number")
    shot(page, "05b-contract-card")
    page.click("#new-account")
    page.fill("#login", "anna")
    page.select_option("#tariff_id", label="Home 300")
    shot(page, "05c-new-account")
    page.click("input[type=submit][value=Save]")

    assert page.inner_text("#account-login") == "anna"
    base = page.locator(".subscription-row[data-service='Internet 300 Mbit/s']")
    assert base.get_attribute("data-state") == "active" and "base" in base.inner_text()
    page.fill("#payment-amount", "800")
    page.fill("#payment-comment", "cash desk")
    page.click("#payment-form button")
    assert any(contract in q for q in page.questions)  # asked before money moved
    assert f"Payment of 800.00 RUB recorded on contract {contract}" in flash(page)
    assert "800.00" in page.inner_text("#card-balance")

    page.fill("#admin-reason", "equipment check")
    page.click("#block-admin-form button")
    assert "blocked by a manager" in page.inner_text("#account-state")
    assert page.locator(".block-row[data-source='admin']").count() == 1
    shot(page, "06-account-card-blocked")
    page.click("#unblock-admin")
    assert "active" in page.inner_text("#account-state")
    assert "State now: active" in flash(page)

    page.goto("/admin/outbox/?state=all&account=anna")
    events = page.locator("#deliveries .delivery-row")
    names = {events.nth(i).get_attribute("data-event") for i in range(events.count())}
    assert {"account_created", "subscription_assigned", "block_set", "block_lifted"} <= names
    shot(page, "07-outbox")
    with runtime.session() as s:
        account = s.scalars(select(Account).where(Account.login == "anna")).one()
        assert s.scalar(select(Payment.created_by).where(Payment.comment == "cash desk")) \
            == "manager:admin"
        assert s.scalars(select(Delivery.state).where(Delivery.account_id == account.id)).all()
    page.goto(f"/admin/card/{account.id}")
    shot(page, "08-account-card")
    page.fill("#global-search", "smirnova")  # the top box: her surname, in lower case
    page.press("#global-search", "Enter")
    assert page.inner_text("#account-login") == "anna"


def test_main_pages_screenshots(page, runtime, set_up, demo_data, password, drain, listener):
    listener.fail = lambda event: RuntimeError("24h TV: 503 Service Unavailable") \
        if event.account_id and event.account_id % 7 == 0 else None
    drain()
    log_in(page, "admin", password)
    pages = {"09-accounts": "/admin/account/", "10-subscribers": "/admin/subscriber/",
             "11-payments": "/admin/payment/", "12-outbox-dead": "/admin/outbox/?state=dead",
             "13-plugins": "/admin/plugins/", "14-audit-log": "/admin/audit/",
             "15-roles-grid": "/admin/role/edit/?id=2", "16-operator": "/admin/operator/edit/?id=1",
             "17-jobs": "/admin/jobs/", "18-tariffs": "/admin/tariff/",
             "19-dashboard-failing": "/admin/?refresh=1",
             "20-search": "/admin/search/?q=Ivan"}
    for name, url in pages.items():
        response = page.goto(url)
        assert response.status == 200, url
        assert "Traceback" not in page.content()
        shot(page, name)
    page.goto("/admin/account/?search=u0000")
    rows = page.locator("table.model-list tbody tr")
    assert rows.count() == 9  # u00001 … u00009


def test_russian_card(page, runtime, set_up, demo_data, manager, password):
    manager("olga", "manager", language="ru")
    log_in(page, "olga", password)
    with runtime.session() as s:
        account_id = s.scalars(select(Account.id).where(Account.login == "u00003")).one()
    page.goto(f"/admin/card/{account_id}")
    assert "Синхронизировать" not in page.content()  # no plugin reconciles here
    assert "Внести платёж" in page.content() and "Заблокировать" in page.content()
    shot(page, "21-account-card-ru")


def test_forbidden_page_and_missing_csrf_in_the_browser(page, set_up, manager, password):
    manager("kasia", "cashier", language="pl")
    log_in(page, "kasia", password)
    menu = page.inner_text("nav")
    assert "Klienci" in menu and "Ustawienia" not in menu and "Personel" not in menu
    response = page.goto("/admin/operator/")
    assert response.status == 403
    assert "Twoja rola nie pozwala" in page.content()
    assert "Wymagane uprawnienie: settings:view" in page.inner_text("#error-detail")
    shot(page, "22-forbidden-pl")
    page.goto("/admin/profile/")
    page.evaluate("document.querySelector('#language-form input[name=csrf_token]').remove()")
    page.click("#language-form button")
    assert "Formularz odrzucony" in page.content()
    page.goto("/admin/payment/new/")
    page.evaluate("for (const i of document.querySelectorAll('input[name=csrf_token]')) i.value = 'forged'")
    page.fill("#contract", "D-00001")
    page.fill("#amount", "10")
    page.click("input[type=submit][value=Zapisz]")
    assert "Formularz odrzucony" in page.content()


@pytest.fixture
def abonent_config(request):
    """Settings a test gives with `indirect` parametrization (none by default)."""
    return getattr(request, "param", {})


def test_login_does_not_follow_a_redirect_off_the_site(page, live_server, set_up, password):
    page.goto("/login?next=/%09/evil.example")
    page.fill("#login", "admin")
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(f"{live_server}/admin/")
    assert "Dashboard" in page.inner_text("body")


@pytest.mark.parametrize("abonent_config", [{"security": {
    "login_delay_after": 5, "login_lockout_after": 3, "lockout_seconds": 600}}], indirect=True)
def test_a_locked_login_is_unlocked_by_an_administrator(page, browser, live_server, set_up,
                                                        manager, password):
    manager("cashier", "cashier")
    for attempt in range(3):
        log_in(page, "cashier", f"wrong {attempt}")
        assert "Wrong login or password" in page.inner_text("#login-form")
    log_in(page, "cashier", password)
    assert "Too many failed attempts. Try again in" in page.inner_text("#login-form")
    assert "/login" in page.url
    admin = browser.new_context(base_url=live_server).new_page()
    try:
        log_in(admin, "admin", password)
        admin.goto("/admin/manager/")
        admin.click("#locked-logins")
        assert "login:cashier" in admin.inner_text("#locked")
        shot(admin, "30-locked-logins")
        admin.locator("#locked tr", has_text="login:cashier").locator("button.unlock").click()
        assert "login:cashier is unlocked" in flash(admin)
    finally:
        admin.context.close()
    log_in(page, "cashier", password)
    page.wait_for_url(f"{live_server}/admin/")


def test_a_session_cookie_copied_before_logout_opens_nothing_after(page, browser, live_server,
                                                                   set_up, password, factory):
    account = factory.account()
    log_in(page, "admin", password)
    page.wait_for_url(f"{live_server}/admin/")
    thief = browser.new_context(base_url=live_server)
    try:
        thief.add_cookies(page.context.cookies())
        stolen = thief.new_page()
        stolen.goto(f"/admin/card/{account.id}")
        assert stolen.url.endswith(f"/admin/card/{account.id}")
        log_out(page)
        page.wait_for_url("**/login")
        stolen.goto(f"/admin/card/{account.id}")
        assert "/login" in stolen.url
        assert stolen.locator("#login-form").is_visible()
    finally:
        thief.close()
