"""The subscriber's cabinet at /my/: a Flask blueprint beside the admin.

A subscriber logs in with an account's login (or a phone of its subscriber) and the
cabinet password a manager set (core.services.cabinet). The cabinet keeps its own
session cookie — another name, path /my/ and signing salt than the managers' — so a
manager's and a subscriber's login in one browser never mix, and a cookie of one is
never accepted by the other. The protections are the admin's: logins throttled by
admin.throttle, a server-side session ended on logout, CSRF on every form (the app's
CSRFProtect) and the app's security headers (CSP: no inline code; the cabinet's
stylesheet is a file of its own).
"""
from __future__ import annotations

from flask import Blueprint, Flask, request
from flask.sessions import SecureCookieSessionInterface

URL = "/my"
COOKIE = "abonent_my"


def _in_cabinet() -> bool:
    return request.path == URL or request.path.startswith(URL + "/")


class SessionCookies(SecureCookieSessionInterface):
    """The app's cookie session, with the cabinet's cookie under /my/."""

    def get_cookie_name(self, app: Flask) -> str:
        return COOKIE if _in_cabinet() else super().get_cookie_name(app)

    def get_cookie_path(self, app: Flask) -> str:
        return URL + "/" if _in_cabinet() else super().get_cookie_path(app)

    @property
    def salt(self) -> str:  # read when a request's cookie is signed or checked
        return "abonent-cabinet-session" if _in_cabinet() else "cookie-session"


def blueprint() -> Blueprint:
    from admin.cabinet import login, pages, reset, tickets
    bp = Blueprint("cabinet", __name__, url_prefix=URL, static_folder="static",
                   static_url_path="/static")
    login.register(bp)
    pages.register(bp)
    reset.register(bp)
    tickets.register(bp)
    return bp


def init_cabinet(app: Flask) -> None:
    app.session_interface = SessionCookies()
    app.register_blueprint(blueprint())
