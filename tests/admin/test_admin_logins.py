"""Logins under attack: no open redirect after logging in, failed logins throttled and
locked out (429, never a sleeping thread) with an administrator's unlock, and sessions
that end on the server (logout, password change, deactivation, idle time)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from admin import staff
from core.clock import frozen, now
from core.models import AuditEntry, LoginThrottle, Manager, StaffSession


@pytest.fixture
def abonent_config():
    return {"security": {"login_delay_after": 2, "login_lockout_after": 4,
                         "address_lockout_after": 100, "lockout_seconds": 60,
                         "session_idle_minutes": 30}}


# --- the page asked for, and nothing else ---------------------------------------------------

@pytest.mark.parametrize("target", [
    "/\t/evil.example", "/%09/evil.example", "/\n/x", "/\r\n/x", "//evil.example/",
    "/\\evil.example", "\\\\evil.example", "/%2F/evil.example", "/%5Cevil.example",
    "https://evil.example/", "javascript:alert(1)", " /admin/", "/admin/\x7f", "",
])
def test_login_follows_no_redirect_off_the_site(new_client, set_up, password, target):
    client = new_client()
    token = client.token("/login")
    response = client.http.post("/login", data={"login": "admin", "password": password,
                                                "next": target, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_the_query_string_next_is_checked_too(new_client, set_up, password):
    client = new_client()
    page = client.http.get("/login?next=/%09/evil.example")
    assert page.status_code == 200
    token = client.token("/login")
    response = client.http.post("/login?next=/%09/evil.example",
                                data={"login": "admin", "password": password,
                                      "next": "/\t/evil.example", "csrf_token": token})
    assert response.headers["Location"] == "/admin/"
    other = new_client()
    token = other.token("/login")
    kept = other.http.post("/login", data={"login": "admin", "password": password,
                                           "next": "/admin/payment/?page=2", "csrf_token": token})
    assert kept.headers["Location"] == "/admin/payment/?page=2"


# --- throttling --------------------------------------------------------------------------

def _attempt(client, login, password):
    return client.http.post("/login", data={"login": login, "password": password,
                                            "csrf_token": client.token("/login")})


def test_failed_logins_slow_down_then_lock_out_until_an_administrator_unlocks(
        new_client, client, manager, runtime, password):
    manager("cashier", "cashier")
    start = now()
    other = new_client()
    with frozen(start):
        assert _attempt(other, "cashier", "wrong 1").status_code == 401
        assert _attempt(other, "Cashier", "wrong 2").status_code == 401
        held = _attempt(other, "cashier", password)  # at once: refused, even the right one
        assert held.status_code == 429 and held.headers["Retry-After"] == "1"
        assert "Try again in 1 s" in held.get_data(as_text=True)
    with frozen(start + timedelta(seconds=1)):
        assert _attempt(other, "cashier", "wrong 3").status_code == 401
        assert _attempt(other, "cashier", password).status_code == 429
    with frozen(start + timedelta(seconds=3)):
        assert _attempt(other, "cashier", "wrong 4").status_code == 401  # the 4th: locked
    with frozen(start + timedelta(seconds=30)):
        locked = _attempt(other, "cashier", password)
        assert locked.status_code == 429 and locked.headers["Retry-After"] == "33"
        # the lockout is the login's: another manager still logs in from the same address
        assert _attempt(new_client(), "admin", password).status_code == 302
        page = client.text("/admin/manager/locked/")
        assert "login:cashier" in page and "locked out" in page
        assert client.post("/admin/manager/unlock", {"key": "login:cashier"}).status_code == 302
        after = client.text("/admin/manager/locked/")
        assert "login:cashier is unlocked" in after and 'id="none-locked"' in after
        assert _attempt(other, "cashier", password).status_code == 302
    with runtime.session() as s:
        cashier_id = s.scalar(select(Manager.id).where(Manager.login == "cashier"))
        failed = s.scalars(select(AuditEntry).where(AuditEntry.action == "login_failed")).all()
        # logins are case-sensitive ("Cashier" is nobody) but counted case-insensitively
        assert [(e.object_id, e.changes["address"]) for e in failed] == \
            [(str(cashier_id), "127.0.0.1"), (None, "127.0.0.1")] + \
            [(str(cashier_id), "127.0.0.1")] * 2
        assert s.scalar(select(AuditEntry.object_id).where(
            AuditEntry.action == "login_locked")) == "login:cashier"
        assert s.scalar(select(AuditEntry.actor).where(
            AuditEntry.action == "login_unlocked")) == "manager:admin"


def test_a_lockout_ends_by_itself(new_client, set_up, runtime, password):
    start = now()
    client = new_client()
    with frozen(start):
        for n in range(4):
            with frozen(start + timedelta(seconds=4 * n)):
                assert _attempt(client, "nobody", "wrong").status_code == 401
    with frozen(start + timedelta(seconds=12 + 59)):
        assert _attempt(client, "nobody", "wrong").status_code == 429
    with frozen(start + timedelta(seconds=12 + 60)):
        assert _attempt(client, "nobody", "wrong").status_code == 401  # counting afresh
    with runtime.session() as s:
        row = s.get(LoginThrottle, "login:nobody")
        assert row.failures == 1 and row.locked_until is None
        assert s.scalar(select(AuditEntry.object_id).where(
            AuditEntry.action == "login_failed").limit(1)) is None  # no such manager


def test_unlocking_needs_the_staff_edit_permission(login_as, client, runtime, new_client):
    with runtime.session() as s:
        staff.save_role(s, None, name="staff viewer", permissions=["staff:view"])
        s.add(LoginThrottle(key="login:someone", failures=10, last_failed_at=now(),
                            locked_until=now() + timedelta(minutes=5)))
    assert login_as("read-only", "viewer").get("/admin/manager/locked/").status_code == 403
    looker = login_as("staff viewer", "looker")
    page = looker.text("/admin/manager/locked/")
    assert "login:someone" in page and "button" not in page.split('id="locked"')[1]
    assert "button" in client.text("/admin/manager/locked/").split('id="locked"')[1]
    assert looker.post("/admin/manager/unlock", {"key": "login:someone"}).status_code == 403
    refused = client.post("/admin/manager/unlock", {"key": "login:not-held"})
    assert refused.status_code == 302
    assert "is not held back" in client.text("/admin/manager/locked/")


# --- sessions end on the server ------------------------------------------------------------

def _copy(client, new_client):
    """Another client carrying the same session cookie (as a thief would)."""
    thief = new_client()
    thief.http.set_cookie("session", client.http.get_cookie("session").value)
    return thief


def test_a_cookie_captured_before_logout_opens_nothing_after(client, new_client, factory):
    account = factory.account()
    assert client.get(f"/admin/card/{account.id}").status_code == 200
    thief = _copy(client, new_client)
    assert thief.get(f"/admin/card/{account.id}").status_code == 200
    assert client.post("/logout").status_code == 302
    assert thief.get(f"/admin/card/{account.id}").status_code == 302
    assert client.get(f"/admin/card/{account.id}").status_code == 302


def test_an_administrator_setting_a_password_ends_that_managers_sessions(
        client, login_as, new_client, runtime):
    cashier = login_as("cashier")
    with runtime.session() as s:
        cashier_id = s.scalar(select(Manager.id).where(Manager.login == "cashier"))
    response = client.post(f"/admin/manager/edit/?id={cashier_id}",
                           {"login": "cashier", "name": "Cashier", "role_id": "2",
                            "language": "en", "active": "y", "password": "another secret 9",
                            "confirm": "another secret 9"})
    assert response.status_code == 302
    assert cashier.get("/admin/payment/").status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_reactivated_manager_logs_in_again(login_as, runtime, new_client):
    cashier = login_as("cashier")
    with runtime.session() as s:
        manager_id = s.scalar(select(Manager.id).where(Manager.login == "cashier"))
        staff.update_manager(s, manager_id, active=False)
    with runtime.session() as s:
        staff.update_manager(s, manager_id, active=True)
        assert s.scalar(select(StaffSession.ended_at).where(
            StaffSession.manager_id == manager_id)) is not None
    assert cashier.get("/admin/payment/").status_code == 302
    assert new_client().login("cashier").status_code == 302


def test_an_idle_session_ends_and_last_seen_is_written_at_most_once_a_minute(client, runtime):
    def last_seen():
        with runtime.session() as s:
            return s.scalar(select(StaffSession.last_seen_at).where(StaffSession.ended_at.is_(None)))
    start = last_seen()
    assert client.get("/admin/").status_code == 200
    assert last_seen() == start  # no write on every request
    with frozen(start + timedelta(minutes=2)):
        assert client.get("/admin/").status_code == 200
    assert last_seen() == start + timedelta(minutes=2)
    with frozen(start + timedelta(minutes=2 + 29)):
        assert client.get("/admin/").status_code == 200
    with frozen(start + timedelta(minutes=2 + 29 + 30)):
        assert client.get("/admin/").status_code == 302
    with runtime.session() as s:
        assert s.scalar(select(StaffSession.ended_at)) is not None
        s.execute(update(StaffSession).values(ended_at=None))
    assert client.get("/admin/").status_code == 200  # it was the idle time, nothing else


def test_old_rows_are_forgotten(new_client, set_up, runtime, password):
    start = now()
    client = new_client()
    with frozen(start):
        assert client.login("admin").status_code == 302
        assert _attempt(new_client(), "made-up-1", "wrong").status_code == 401
    with frozen(start + timedelta(days=31)):
        assert _attempt(new_client(), "made-up-2", "wrong").status_code == 401
        assert new_client().login("admin").status_code == 302
    with runtime.session() as s:
        assert s.scalar(select(StaffSession.created_at)) == start + timedelta(days=31)
        assert sorted(s.scalars(select(LoginThrottle.key))) == \
            ["addr:127.0.0.1", "login:made-up-2"]
        assert s.get(LoginThrottle, "addr:127.0.0.1").failures == 1


def test_a_very_long_login_is_counted_not_a_500(new_client, set_up, runtime):
    assert _attempt(new_client(), "ü" * 5000, "wrong").status_code == 401
    with runtime.session() as s:
        assert s.get(LoginThrottle, "login:" + "ü" * 100).failures == 1
