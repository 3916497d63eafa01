"""Logging in (Flask-Login), the first-start gate and the one-time set-up links.

Every page under /admin needs a logged-in manager; until an administrator has a password
none is served at all, the login page explains how to set one instead. The session is
held on the server (admin.sessions) and the manager loaded afresh with it on every
request, so a logout, a deactivated manager, a changed role or a changed password takes
effect at once. Failed logins are throttled per login and per address (admin.throttle);
an attempt held back is answered 429 at once, never by sleeping in the request thread.
The password is checked outside any transaction, so a flood of logins does not hold
SQLite's write lock (a database still too busy is answered 503 by admin.serve).
A manager with a second factor (admin.second_factor) gives the authenticator app's code
as a second step after the password, within CODE_SECONDS.
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

from admin import second_factor, sessions, staff, throttle
from admin.db import runtime
from admin.permissions import ADMINISTRATOR
from core.clock import now
from core.errors import ValidationError
from core.models import Manager

ADMIN_URL = "/admin"
#: endpoints under ADMIN_URL served without a login (the stylesheets of the login page)
PUBLIC_ENDPOINTS = ("admin.static",)
#: the key of the Flask session that holds the server-side session's token
TOKEN_KEY = "abonent_session"
#: the key of the Flask session that holds a login waiting for its one-time code, and
#: how long it waits (seconds)
PENDING_KEY = "abonent_pending_login"
CODE_SECONDS = 300
#: where an administrator who must have a second factor and has none may go
ENROLMENT_ENDPOINTS = ("profile.index", "profile.second_factor", "profile.language",
                       "profile.password", "admin.static")

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
    second_factor: bool = False

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
                          frozenset(manager.role.permissions or ()),
                          manager.totp_secret is not None)


def session_token() -> str | None:
    """The token of this request's server-side session (to keep it on a password change)."""
    return session.get(TOKEN_KEY)


def security() -> dict:
    return runtime().settings.section("security")


def _load(key: str) -> CurrentManager | None:
    token = session_token()
    if not token or not key.isdecimal():
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
    if (not current_user.second_factor and request.endpoint not in ENROLMENT_ENDPOINTS
            and current_user.role == ADMINISTRATOR and security()["totp_for_administrators"]):
        flash(_("Administrators must use a second factor: set it up to go on."), "info")
        return redirect(url_for("profile.index"))
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


class CodeForm(FlaskForm):
    code = StringField(_l("One-time code"), validators=[DataRequired()],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


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
    limits, keys, held = _throttled(form.login.data, form, form.password, "abonent/login.html")
    if held:
        return held
    attempt = staff.authenticate(runtime(), form.login.data, form.password.data)
    if attempt.manager_id is None:
        _failed(form.login.data, keys, limits, attempt.named_id)
        form.password.errors.append(_("Wrong login or password."))
        return render_template("abonent/login.html", form=form), 401
    with runtime().session(actor="admin") as db:
        asks_code = db.get(Manager, attempt.manager_id).totp_secret is not None
    if asks_code:  # the password was right: the code is the second step
        session[PENDING_KEY] = {"id": attempt.manager_id, "login": form.login.data.strip(),
                                "next": form.next.data, "at": now().timestamp()}
        return redirect(url_for("auth.code"))
    return _logged_in(attempt.manager_id, form.login.data.strip(), keys[0], form.next.data)


def _throttled(login: str, form, field, template: str):
    """(limits, keys, answer) of a login step: `answer` is the 429 page to send at once when
    the login or the address must still wait (its password or code is not even checked),
    else None. Both steps — the password and the second factor's code — go through it."""
    limits = throttle.Limits.of(security())
    keys = throttle.keys(login, request.remote_addr)
    with runtime().session(actor="admin") as db:
        wait = throttle.wait_seconds(db, keys, limits, now())
    if not wait:
        return limits, keys, None
    field.errors.append(_("Too many failed attempts. Try again in %(seconds)s s.", seconds=wait))
    return limits, keys, (render_template(template, form=form), 429, {"Retry-After": str(wait)})


def _logged_in(manager_id: int, login: str, key: str, target: str | None):
    """Open the session of a manager who passed every step, and go where they were going."""
    with runtime().session(actor=f"manager:{login}") as db:
        throttle.succeeded(db, key)
        user = current_manager(staff.note_login(db, manager_id))
        token = sessions.open_session(db, manager_id)
    _start_session(user, token)
    return redirect(_local(target))


@bp.route("/login/code", methods=["GET", "POST"])
def code():
    """The second step for a manager with a second factor: the authenticator app's code.
    Wrong codes are failed logins (throttled and audited like wrong passwords)."""
    pending = session.get(PENDING_KEY)
    if not pending or now().timestamp() - pending["at"] > CODE_SECONDS:
        session.pop(PENDING_KEY, None)
        flash(_("Log in again: the one-time code was not given in time."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("abonent/login_code.html", form=form)
    limits, keys, held = _throttled(pending["login"], form, form.code,
                                    "abonent/login_code.html")
    if held:
        return held
    with runtime().session(actor=f"manager:{pending['login']}") as db:
        accepted = (db.get(Manager, pending["id"]).totp_secret is None  # reset meanwhile
                    or second_factor.use_code(db, pending["id"], form.code.data))
    if not accepted:
        _failed(pending["login"], keys, limits, pending["id"])
        form.code.errors.append(_("Wrong code."))
        return render_template("abonent/login_code.html", form=form), 401
    session.pop(PENDING_KEY)
    return _logged_in(pending["id"], pending["login"], keys[0], pending["next"])


def _failed(login: str, keys: tuple[str, str], limits: throttle.Limits,
            named_id: int | None) -> None:
    """Count the failure (one short transaction) and leave a line in the log."""
    address = request.remote_addr
    with runtime().session(actor=f"address:{address}") as db:
        locked = throttle.failed(db, keys, limits, now(), named_id,
                                 {"login": login[:100], "address": address})
    current_app.logger.warning("failed login for %r from %s%s", login[:100], address,
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
