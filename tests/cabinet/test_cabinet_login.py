"""Logging in to the cabinet: its own cookie, a phone as the login, throttled failures,
a logout that is final, and a form without its CSRF token refused."""
from __future__ import annotations

from sqlalchemy import select

from core.models import AuditEntry, Block


def test_login_by_phone_own_cookie_and_final_logout(new_client, world, runtime):
    client = new_client()
    assert client.http.get("/my/").headers["Location"].endswith("/my/login")
    answer = client.login("8 (916) 555-00-11")  # the subscriber's phone, typed another way
    assert answer.status_code == 302
    cookie = client.http.get_cookie("abonent_my", path="/my/")
    assert cookie is not None and client.http.get_cookie("session") is None
    page = client.page()
    assert 'id="balance">0.00<' in page and "Home 100" in page and "Cinema" in page
    assert "default-src 'self'" in client.http.get("/my/").headers["Content-Security-Policy"]
    kept = cookie.value
    assert client.post("/my/logout").status_code == 200
    stolen = new_client()
    stolen.http.set_cookie("abonent_my", kept, path="/my/")
    assert stolen.http.get("/my/").status_code == 302  # the session ended on the server
    with runtime.session() as s:
        assert s.scalars(select(AuditEntry.actor).where(
            AuditEntry.action == "cabinet_login")).all() == ["subscriber:ivan"]


def test_wrong_passwords_are_throttled_and_the_manager_cookie_opens_nothing(new_client, world,
                                                                            runtime):
    client = new_client()
    russian = client.http.get("/my/login", headers={"Accept-Language": "ru"})
    assert "Логин или телефон" in russian.get_data(as_text=True)
    for _ in range(2):
        assert client.login("ivan", "wrong password").status_code == 401
    assert client.login("nobody", "wrong password").status_code == 401
    with runtime.session() as s:  # audited on the account the login names, if one
        assert s.execute(select(AuditEntry.object_type, AuditEntry.object_id).where(
            AuditEntry.action == "login_failed").order_by(AuditEntry.id)).all() == [
            ("account", str(world.account.id))] * 2 + [("account", None)]
    held = client.login("ivan")  # the right password, but the login must wait now
    assert held.status_code == 429 and "Try again in" in held.get_data(as_text=True)
    admin_cookie = new_client()  # a cookie signed for the admin is no cabinet login
    admin_cookie.http.set_cookie("abonent_my", "eyJjYWJpbmV0X3Nlc3Npb24iOiJ4In0.x.y",
                                 path="/my/")
    assert admin_cookie.http.get("/my/").status_code == 302


def test_a_form_without_its_token_is_refused_and_changes_nothing(client, world, runtime):
    refused = client.post("/my/block", {}, csrf=False)
    assert refused.status_code == 400 and "security token" in refused.get_data(as_text=True)
    with runtime.session() as s:
        assert s.scalars(select(Block)).all() == []
