"""Security headers on every answer (a printable invoice: its own inline styles only), the
session cookie's Secure flag, and a reverse proxy's forwarded headers believed only when
the operator configured the proxy."""
from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from admin import staff
from core.charging import charge_day
from core.clock import today
from core.invoicing import invoice_period
from core.models import Invoice, Manager

PROXIED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "admin.example",
           "X-Forwarded-For": "203.0.113.9",
           # over HTTPS the CSRF check also wants a same-site Referer (sent: same-origin)
           "Referer": "https://admin.example/admin/manager/"}
SETUP_LINK = re.compile(r'id="setup-link" value="([^"]+)"')


@pytest.fixture
def abonent_config(request):
    return getattr(request, "param", {})


def secure(**server):
    return pytest.mark.parametrize("abonent_config", [{"server": server}], indirect=True)


def assert_hardened(response):
    headers = response.headers
    policy = dict(part.strip().split(" ", 1) for part in
                  headers["Content-Security-Policy"].split(";"))
    # no inline script, no eval; one inline handler by its hash: Flask-Admin's "return false;"
    assert policy["script-src"] == ("'self' 'unsafe-hashes' "
                                    "'sha256-2rvfFrggTCtyF5WOiTri1gDS8Boibj4Njn0e+VCBmDI='")
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and headers["X-Frame-Options"] == "DENY"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_every_kind_of_answer_carries_the_headers(client, new_client):
    anonymous = new_client()
    answers = [anonymous.get("/login"), anonymous.get("/admin/"), anonymous.get("/healthz"),
               anonymous.get("/admin/static/bootstrap/bootstrap4/css/bootstrap.min.css"),
               client.get("/admin/"), client.get("/admin/account/"),
               client.get("/admin/no-such-page"), client.post("/logout", csrf=False)]
    assert [a.status_code for a in answers] == [200, 302, 200, 200, 200, 200, 404, 400]
    for answer in answers:
        assert_hardened(answer)
    assert "Strict-Transport-Security" not in answers[0].headers  # plain HTTP by default


def test_session_cookie_is_not_secure_by_default(set_up, new_client, password):
    cookie = new_client().login(staff.FIRST_ADMIN, password).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


@secure(secure_cookies=True)
def test_secure_cookies_behind_tls(set_up, new_client, password):
    response = new_client().login(staff.FIRST_ADMIN, password)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "; Secure" in cookie and "HttpOnly" in cookie
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert_hardened(response)


def setup_link(client, runtime, headers) -> str:
    """The one-time link the managers page makes (an absolute URL: scheme and host)."""
    with runtime.session() as s:
        manager_id = s.scalars(select(Manager.id).where(Manager.login == staff.FIRST_ADMIN)).one()
    page = client.post(f"/admin/manager/link/{manager_id}", headers=headers)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    return SETUP_LINK.search(page.get_data(as_text=True))[1]


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(client, runtime):
    assert setup_link(client, runtime, PROXIED).startswith("http://localhost/setup/")


@secure(trusted_proxies=1)
def test_a_trusted_proxy_gives_the_scheme_and_host(client, runtime):
    assert setup_link(client, runtime, PROXIED).startswith("https://admin.example/setup/")


@pytest.fixture
def invoice_id(runtime, factory) -> int:
    """An invoice of last month (its printable page keeps its styles inline)."""
    last_month = today("UTC").replace(day=1) - timedelta(days=1)
    factory.account(login="billed", start_on=last_month.replace(day=1))
    with runtime.session() as s:
        charge_day(s, last_month.replace(day=1))
    invoice_period(runtime, last_month.replace(day=1))
    with runtime.session() as s:
        return s.scalars(select(Invoice.id).order_by(Invoice.id.desc())).first()


def test_the_printable_invoice_allows_only_its_own_styles(client, invoice_id):
    page = client.get(f"/admin/invoice/print/{invoice_id}")
    document = page.get_data(as_text=True)
    (style,) = re.findall(r"<style>(.*?)</style>", document, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    policy = page.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; ")  # no script of any kind
    assert f"style-src 'sha256-{digest}';" in policy and "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy and page.headers["X-Frame-Options"] == "DENY"
