"""Logging in and out of the cabinet, and the gate every cabinet page passes.

As in the admin (admin.auth): failed logins are throttled per login and per address
(admin.throttle; the cabinet's login counters are keyed "my-login:…", the address
counter is the one the admin's logins share, since one address flooding either is the
same attack), an attempt held back is answered 429 at once, the password is checked
outside any transaction, and the session is a row on the server whose token only the
cookie carries (core.services.cabinet), so a logout is final.
"""
from __future__ import annotations

from datetime import timedelta

from flask import (Blueprint, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from admin import throttle
from admin.db import runtime
from core.clock import now
from core.services import cabinet

TOKEN_KEY = "cabinet_session"
PUBLIC = ("cabinet.login", "cabinet.static", "cabinet.join", "cabinet.reset",
          "cabinet.reset_code")


class LoginForm(FlaskForm):
    login = StringField(_l("Login or phone"), validators=[DataRequired()],
                        render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})


def _limits() -> throttle.Limits:
    return throttle.Limits.of(runtime().settings.section("security"))


def _keys(login: str) -> tuple[str, str]:
    login_key, address_key = throttle.keys(login, request.remote_addr)
    return "my-" + login_key, address_key


def _idle() -> timedelta:
    return timedelta(minutes=runtime().settings.section("cabinet")["session_idle_minutes"])


WAIT_LOGIN = _l("Too many failed attempts. Try again in %(seconds)s s.")


def held(keys: tuple[str, ...], limits: throttle.Limits, field, message, template: str,
         form):
    """The 429 page to answer at once while one of the keys must still wait (the attempt
    is not even looked at), else None; `message` names the seconds left."""
    with runtime().session(actor="cabinet") as db:
        wait = throttle.wait_seconds(db, keys, limits, now())
    if not wait:
        return None
    field.errors.append(message % {"seconds": wait})
    return render_template(template, form=form), 429, {"Retry-After": str(wait)}


def gate():
    """Load the logged-in account into `g.cabinet` (id, login), or send to the login."""
    token = session.get(TOKEN_KEY)
    g.cabinet = None
    if request.endpoint == "cabinet.static":  # the stylesheet needs no database
        return None
    if token:
        with runtime().session(actor="cabinet") as db:
            account = cabinet.account_of(db, token, _idle())
            if account is not None:
                g.cabinet = (account.id, account.login)
    if g.cabinet is None and request.endpoint not in PUBLIC:
        session.pop(TOKEN_KEY, None)
        return redirect(url_for("cabinet.login"))
    return None


def login():
    if g.cabinet is not None:
        return redirect(url_for("cabinet.home"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("cabinet/login.html", form=form)
    typed = form.login.data.strip()
    keys, limits = _keys(typed), _limits()
    answer = held(keys, limits, form.password, WAIT_LOGIN, "cabinet/login.html", form)
    if answer:
        return answer
    attempt = cabinet.authenticate(runtime(), typed, form.password.data)
    if attempt.account_id is None:
        address = request.remote_addr
        with runtime().session(actor=f"address:{address}") as db:
            throttle.failed(db, keys, limits, now(), attempt.named,
                            {"cabinet": True, "login": typed[:100], "address": address},
                            kind="account")
        current_app.logger.warning("failed cabinet login for %r from %s", typed[:100], address)
        form.password.errors.append(_("Wrong login or password."))
        return render_template("cabinet/login.html", form=form), 401
    with runtime().session(actor=cabinet.actor(attempt.login)) as db:
        throttle.succeeded(db, keys[0])
        token = cabinet.open_session(db, attempt.account_id)
    session.clear()  # a new login never inherits the anonymous session (its CSRF token)
    session[TOKEN_KEY] = token
    return redirect(url_for("cabinet.home"))


def logout():
    token = session.pop(TOKEN_KEY, None)
    if token:
        with runtime().session(actor=cabinet.actor(g.cabinet[1])) as db:
            cabinet.end(db, token)
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("cabinet.login"))


def register(bp: Blueprint) -> None:
    bp.before_request(gate)
    bp.add_url_rule("/login", "login", login, methods=("GET", "POST"))
    bp.add_url_rule("/logout", "logout", logout, methods=("POST",))
