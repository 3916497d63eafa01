"""The admin for a plugin's tests: Flask's test client logged in as a manager of a role,
through the real login page (password, CSRF token, session cookie), so a test sees a
plugin's panel, view or form exactly as that manager would, permissions included.
"""
from __future__ import annotations

import itertools
import re
from typing import Any

from sqlalchemy import select

PASSWORD = "correct horse 42"  # the password of the managers tests make
_logins = itertools.count(1)
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def add_manager(runtime, login: str, role: str, password: str | None = PASSWORD,
                language: str = "en") -> int:
    """A manager of the named role with this password (set again if the login exists;
    None: a manager who has not set one yet); returns its id."""
    from admin import staff
    from core.models import Manager, Role
    with runtime.session(actor="test") as s:
        existing = s.scalars(select(Manager).where(Manager.login == login)).first()
        if existing is not None:
            staff.set_password(s, existing.id, password)
            return existing.id
        role_id = s.scalars(select(Role.id).where(Role.name == role)).first()
        if role_id is None:
            raise ValueError(f"no role {role!r}")
        return staff.create_manager(s, login=login, name=login.title(), role_id=role_id,
                                    language=language, password=password).id


class AdminClient:
    """Flask's test client of the admin; `post` adds the page's CSRF token for you."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()

    def token(self, url: str = "/admin/profile/") -> str:
        match = _CSRF.search(self.http.get(url).get_data(as_text=True))
        if match is None:
            raise AssertionError(f"no CSRF token on {url}")
        return match[1]

    def login(self, login: str, password: str = PASSWORD):
        return self.http.post("/login", data={"login": login, "password": password,
                                              "csrf_token": self.token("/login")})

    def get(self, url: str, **kw):
        return self.http.get(url, **kw)

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token())
        return self.http.post(url, data=data, **kw)

    def text(self, url: str) -> str:
        """The page's HTML; fails unless it answered 200."""
        response = self.http.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)


def logged_in(runtime, role: str = "administrator", login: str | None = None) -> AdminClient:
    """A client logged in as a manager of `role`: a new one (`<role><n>`) unless `login`
    is given. The admin is set up first if it is not (its first administrator gets a
    password, as after the one-time set-up link); no other manager's password changes,
    so clients made earlier stay logged in."""
    from admin import staff
    from admin.app import create_app
    app = create_app(runtime)  # seeds the roles and the first administrator
    with runtime.session() as s:
        set_up = staff.is_set_up(s)
    if not set_up:
        add_manager(runtime, staff.FIRST_ADMIN, "administrator")
    if login is None:
        login = f"{role.replace('-', '')}{next(_logins)}"
        add_manager(runtime, login, role)
    client = AdminClient(app)
    response = client.login(login)
    if response.status_code != 302:
        raise AssertionError(f"logging in as {login} ({role}) answered "
                             f"{response.status_code}: {response.get_data(as_text=True)[:300]}")
    return client
