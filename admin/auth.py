"""Logging in (Flask-Login), the first-start gate and the one-time set-up links.

Every page under /admin needs a logged-in manager; until an administrator has a password
none is served at all, the login page explains how to set one instead. The session is
held on the server (admin.sessions) and the manager loaded afresh with it on every
request, so a logout, a deactivated manager, a changed role or a changed password takes
effect at once. Failed logins are throttled per login and per address (admin.throttle);
an attempt held back is answered 429 at once, never by sleeping in the request thread.
The password is checked outside any transaction, so a flood of logins does not hold
SQLite's write lock (a database still too busy is answered 503 by admin.serve).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from flask import (Blueprint, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin, LoginManager, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired

from admin import sessions, staff, throttle
from admin.db import runtime
from core.clock import now
from core.errors import ValidationError
from core.models import Manager

ADMIN_URL = "/admin"
#: endpoints under ADMIN_URL served without a login (the stylesheets of the login page)
PUBLIC_ENDPOINTS = ("admin.static",)
#: the key of the Flask session that holds the server-side session's token
TOKEN_KEY = "abonent_session"

bp = Blueprint("auth", __name__)


@dataclass(frozen=True, eq=False)
class CurrentManager:
    """The logged-in manager as the request sees it (a plain value, no database row)."""

    id: int
    key: str
    login: str
    name: str
    language: str
    role: str
    permissions: frozenset[str]

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.key

    def can(self, permission: str) -> bool:
        return permission in self.permissions


class Anonymous(AnonymousUserMixin):
    login = ""
    language = "en"
    permissions: frozenset[str] = frozenset()

    def can(self, permission: str) -> bool:
        return False


def current_manager(manager: Manager) -> CurrentManager:
    return CurrentManager(manager.id, str(manager.id), manager.login, manager.name,
                          manager.language, manager.role.name,
                          frozenset(manager.role.permissions or ()))


def session_token() -> str | None:
    """The token of this request's server-side session (to keep it on a password change)."""
    return session.get(TOKEN_KEY)


def security() -> dict:
    return runtime().settings.section("security")


def _load(key: str) -> CurrentManager | None:
    token = session_token()
    if not token or not key.isdigit():
        return None
    idle = timedelta(minutes=security()["session_idle_minutes"])
    with runtime().session(actor="admin") as db:
        manager = sessions.manager_of(db, token, idle)
        if manager is None or manager.id != int(key):
            return None
        return current_manager(manager)


def _start_session(user: CurrentManager, token: str) -> None:
    login_user(user)
    session[TOKEN_KEY] = token


def init_login(app) -> LoginManager:
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.login_message = _l("Please log in to open this page.")
    manager.anonymous_user = Anonymous
    manager.user_loader(_load)
    app.register_blueprint(bp)
    app.before_request(_gate)
    return manager


def is_set_up() -> bool:
    """Whether an administrator can log in; remembered once true (it stays true: the
    last administrator with a password cannot be removed)."""
    state = current_app.extensions["abonent_admin"]
    if not state.get("set_up"):
        with runtime().session(actor="admin") as db:
            state["set_up"] = staff.is_set_up(db)
    return state["set_up"]


def _gate():
    from flask_login import current_user
    if not request.path.startswith(ADMIN_URL) or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not is_set_up():
        return render_template("abonent/not_set_up.html"), 503
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return None


def _local(target: str | None) -> str:
    """Only a path on this site is followed after logging in (no open redirect): one
    leading "/", and, even once percent-decoded again, no second "/" after it, no
    backslash, whitespace or control character (browsers drop a tab or a newline and
    then read "/\t/evil.example" as "//evil.example"), no scheme or host."""
    target = target or ""
    decoded = unquote(target)
    if (target.startswith("/") and not decoded.startswith("//")
            and not any(c == "\\" or c.isspace() or unicodedata.category(c)[0] == "C"
                        for c in target + decoded)
            and not urlsplit(decoded).scheme and not urlsplit(decoded).netloc):
        return target
    return url_for("admin.index")


class LoginForm(FlaskForm):
    login = StringField(_l("Login"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    next = HiddenField()


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(_l("The same password again"), validators=[DataRequired()])


@bp.route("/")
def home():
    return redirect(url_for("admin.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if not is_set_up():
        return render_template("abonent/not_set_up.html"), 503
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return render_template("abonent/login.html", form=form)
    limits = throttle.Limits.of(security())
    keys = throttle.keys(form.login.data, request.remote_addr)
    with runtime().session(actor="admin") as db:
        wait = throttle.wait_seconds(db, keys, limits, now())
    if wait:
        form.password.errors.append(
            _("Too many failed attempts. Try again in %(seconds)s s.", seconds=wait))
        return (render_template("abonent/login.html", form=form), 429,
                {"Retry-After": str(wait)})
    attempt = staff.authenticate(runtime(), form.login.data, form.password.data)
    if attempt.manager_id is None:
        _failed(form, keys, limits, attempt)
        form.password.errors.append(_("Wrong login or password."))
        return render_template("abonent/login.html", form=form), 401
    with runtime().session(actor=f"manager:{form.login.data.strip()}") as db:
        throttle.succeeded(db, keys[0])
        user = current_manager(staff.note_login(db, attempt.manager_id))
        token = sessions.open_session(db, attempt.manager_id)
    _start_session(user, token)
    return redirect(_local(form.next.data))


def _failed(form: LoginForm, keys: tuple[str, str], limits: throttle.Limits,
            attempt: staff.Attempt) -> None:
    """Count the failure (one short transaction) and leave a line in the log."""
    address = request.remote_addr
    with runtime().session(actor=f"address:{address}") as db:
        locked = throttle.failed(db, keys, limits, now(), attempt.named_id,
                                 {"login": form.login.data[:100], "address": address})
    current_app.logger.warning("failed login for %r from %s%s", form.login.data[:100], address,
                               f"; locked out until {locked:%H:%M:%S} UTC" if locked else "")


@bp.route("/logout", methods=["POST"])
def logout():
    token = session.pop(TOKEN_KEY, None)
    if token:
        with runtime().session(actor="admin") as db:
            sessions.end(db, token)
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/setup/<token>", methods=["GET", "POST"])
def setup(token: str):
    """The one-time link: set a password, then log in with it."""
    with runtime().session(actor="admin") as db:
        owner = staff.token_owner(db, token)
        login_name = owner.login if owner else None
    if owner is None:
        return render_template("abonent/setup_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            with runtime().session(actor=f"manager:{login_name}") as db:
                manager = staff.use_setup_token(db, token, form.password.data,
                                                form.confirm.data)
                user = current_manager(manager)
                new_token = sessions.open_session(db, manager.id)
        except ValidationError as exc:
            target = getattr(form, exc.field, None) or form.password
            target.errors.append(_(exc.reason))
        else:
            current_app.extensions["abonent_admin"]["set_up"] = False  # look again
            _start_session(user, new_token)
            flash(_("Your password is set. Welcome, %(name)s.", name=user.name), "success")
            return redirect(url_for("admin.index"))
    return render_template("abonent/setup.html", form=form, login=login_name,
                           min_length=staff.MIN_PASSWORD)
