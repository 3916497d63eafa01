"""The admin's own pages satisfy its Content-Security-Policy: Chromium reports no refused
script, style or handler on the main pages, nor when the list filters, the confirmation
question before a role is deleted, the set-up link and the second factor are used."""
from __future__ import annotations

import time

import pyotp
from sqlalchemy import select

from admin import staff
from core.models import Account
from tests.admin.test_admin_browser import demo_data, log_in, log_out  # noqa: F401
from tests.admin.test_admin_headers import invoice_id  # noqa: F401

PAGES = ["/admin/", "/admin/account/", "/admin/subscriber/", "/admin/payment/",
         "/admin/audit/", "/admin/jobs/", "/admin/outbox/", "/admin/plugins/",
         "/admin/role/", "/admin/role/edit/?id=2", "/admin/manager/", "/admin/profile/",
         "/admin/search/?q=Ivan", "/admin/reports/", "/admin/provider/", "/admin/templates/",
         "/admin/mail_log/", "/admin/import/", "/admin/helpdesk/", "/admin/apikeys/",
         "/admin/invoice/", "/admin/webhooks/", "/admin/webhooks/attempts", "/admin/gateways/",
         "/my/login", "/my/join", "/api/v1/docs"]


def violations(page) -> list[str]:
    """Every CSP refusal Chromium reports on the tab from now on."""
    found: list[str] = []
    page.on("console", lambda message: found.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text else None)
    return found


def test_no_page_breaks_the_content_security_policy(page, runtime, set_up, demo_data,
                                                    invoice_id, password):
    refused = violations(page)
    page.goto("/login")
    log_in(page, "admin", password)
    with runtime.session(actor="test") as s:
        account_id = s.scalars(select(Account.id).order_by(Account.id)).first()
        staff.save_role(s, None, name="Night shift", permissions=["accounts:view"])
    for url in [*PAGES, f"/admin/card/{account_id}", f"/admin/invoice/print/{invoice_id}"]:
        assert page.goto(url).status == 200, url
    # the printable invoice's own styles apply (allowed by their hash)
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).fontSize") == "20px"
    page.goto("/admin/account/")
    page.click("text=Add Filter")
    page.locator("a.filter").first.click()
    assert page.locator(".filters tr").count() == 1  # the filter row its script adds
    page.goto("/admin/manager/")
    page.locator("button.make-link").first.click()
    page.wait_for_load_state("load")  # the page's scripts are attached
    # the page's script selects the link on click: waited for (a busy machine is slow),
    # in Python, since Playwright's wait_for_function evaluates a string the CSP refuses;
    # clicked again while nothing is selected (a click before the script ran selects nothing)
    selected = ""
    for _ in range(50):
        page.click("#setup-link")
        selected = page.evaluate("window.getSelection().toString() || "
                                 "document.activeElement.value.substring("
                                 "document.activeElement.selectionStart,"
                                 "document.activeElement.selectionEnd)")
        if selected.startswith("http"):
            break
        time.sleep(0.1)
    assert selected.startswith("http")
    page.goto("/admin/role/")
    page.locator("tr", has_text="Night shift").locator("form.icon button").click()
    assert page.questions == ["Are you sure you want to delete this record?"]
    page.wait_for_load_state()
    assert "Night shift" not in page.locator("table.model-list").inner_text()
    page.goto("/admin/")
    assert refused == [], "\n".join(refused)


def test_second_factor_in_the_browser(page, set_up, password):
    """Enrol from the profile (the QR code is drawn: a data: image the CSP allows), then
    log in with the password and a code; nothing is refused on the way."""
    refused = violations(page)
    log_in(page, "admin", password)
    page.goto("/admin/profile/")
    assert page.evaluate("document.getElementById('totp-qr').naturalWidth") > 0
    secret = page.inner_text("#totp-secret")
    page.fill("#second-factor-form input[name=code]", pyotp.TOTP(secret).now())
    page.click("#second-factor-form button[type=submit]")
    assert "The second factor is on" in page.inner_text(".flash")
    log_out(page)
    log_in(page, "admin", password)
    assert page.url.endswith("/login/code")
    totp = pyotp.TOTP(secret)
    page.fill("#code", totp.generate_otp(int(time.time()) // totp.interval + 1))
    page.click("#code-submit")
    assert page.url.endswith("/admin/")
    assert refused == [], "\n".join(refused)
