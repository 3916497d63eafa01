"""Logging in (Flask-Login), the first-start gate and the one-time set-up links.

Every page under /admin needs a logged-in manager; until an administrator has a password
none is served at all, the login page explains how to set one instead. The manager is
loaded afresh on every request (one indexed query), so a deactivated manager, a changed
role or a changed password takes effect at once.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin, LoginManager, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired

from admin import staff
from admin.db import runtime
from core.errors import ValidationError
from core.models import Manager

ADMIN_URL = "/admin"
#: endpoints under ADMIN_URL served without a login (the stylesheets of the login page)
PUBLIC_ENDPOINTS = ("admin.static",)

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
    return CurrentManager(manager.id, staff.session_key(manager), manager.login, manager.name,
                          manager.language, manager.role.name,
                          frozenset(manager.role.permissions or ()))


def _load(key: str) -> CurrentManager | None:
    manager_id, _, _ = key.partition(":")
    if not manager_id.isdigit():
        return None
    with runtime().session(actor="admin") as session:
        manager = session.get(Manager, int(manager_id))
        if manager is None or not manager.active or staff.session_key(manager) != key:
            return None
        return current_manager(manager)


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
        with runtime().session(actor="admin") as session:
            state["set_up"] = staff.is_set_up(session)
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
    """Only a path on this site is followed after logging in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
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
    if form.validate_on_submit():
        with runtime().session(actor="admin") as session:
            manager = staff.authenticate(session, form.login.data, form.password.data)
        if manager is not None:
            with runtime().session(actor=f"manager:{manager.login}") as session:
                user = current_manager(staff.note_login(session, manager.id))
            login_user(user)
            return redirect(_local(form.next.data))
        current_app.logger.warning("failed login for %r from %s", form.login.data,
                                   request.remote_addr)
        form.password.errors.append(_("Wrong login or password."))
        return render_template("abonent/login.html", form=form), 401
    return render_template("abonent/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/setup/<token>", methods=["GET", "POST"])
def setup(token: str):
    """The one-time link: set a password, then log in with it."""
    with runtime().session(actor="admin") as session:
        owner = staff.token_owner(session, token)
        login_name = owner.login if owner else None
    if owner is None:
        return render_template("abonent/setup_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            with runtime().session(actor=f"manager:{login_name}") as session:
                manager = staff.use_setup_token(session, token, form.password.data,
                                                form.confirm.data)
                user = current_manager(manager)
        except ValidationError as exc:
            target = getattr(form, exc.field, None) or form.password
            target.errors.append(_(exc.reason))
        else:
            current_app.extensions["abonent_admin"]["set_up"] = False  # look again
            login_user(user)
            flash(_("Your password is set. Welcome, %(name)s.", name=user.name), "success")
            return redirect(url_for("admin.index"))
    return render_template("abonent/setup.html", form=form, login=login_name,
                           min_length=staff.MIN_PASSWORD)
