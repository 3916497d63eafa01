""""Forgot password" in the cabinet: ask for a code, then set a new password with it.

Asking is public and throttled per typed login and per client address (admin.throttle,
keys "my-reset:…" and "reset-addr:…": a few codes a login before it waits, then a
lockout), because each code costs a message (an SMS is paid for) and floods a mailbox.
Whatever was typed, the answer is the same page ("if the login is known, a code is on
its way"), so the form tells nobody which logins exist. The code page takes the login
(filled in from the request), the code and the new password twice; a right code sets
the password and ends every cabinet session of the account (core.services.cabinet_reset).
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo

from admin import throttle
from admin.db import runtime
from admin.cabinet.login import held
from admin.forms import reason
from core.clock import now
from core.errors import ValidationError
from core.services import cabinet, cabinet_reset

LOGIN_KEY = "cabinet_reset_login"
WAIT = _l("Too many requests. Try again in %(seconds)s s.")
#: codes one login (or one address) may ask for before it is held back for a lockout
PER_LOGIN, PER_ADDRESS = 3, 10


class RequestForm(FlaskForm):
    login = StringField(_l("Login or phone"), validators=[DataRequired()],
                        render_kw={"autocomplete": "username"})


class CodeForm(FlaskForm):
    login = StringField(_l("Login or phone"), validators=[DataRequired()],
                        render_kw={"autocomplete": "username"})
    code = StringField(_l("Code"), validators=[DataRequired()],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})
    password = PasswordField(_l("New password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "new-password"})
    repeat = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"})


def _limits() -> throttle.Limits:
    lockout = runtime().settings.section("security")["lockout_seconds"]
    return throttle.Limits(delay_after=1, login_lockout_after=PER_LOGIN,
                           address_lockout_after=PER_ADDRESS, lockout_seconds=lockout)


def reset():
    form = RequestForm()
    if not form.validate_on_submit():
        return render_template("cabinet/reset.html", form=form)
    typed = form.login.data.strip()[:100]
    address = request.remote_addr or "unknown"
    keys = (f"my-reset:{typed.lower()}", f"reset-addr:{address[:100]}")
    limits = _limits()
    answer = held(keys, limits, form.login, WAIT, "cabinet/reset.html", form)
    if answer:
        return answer
    with runtime().session(actor=f"address:{address}") as db:
        throttle.count(db, keys, limits, now())
        cabinet_reset.request_code(db, typed)  # how many were sent is not told
    session[LOGIN_KEY] = typed
    flash(_("If %(login)s is a login or phone of ours, a code is on its way to the contact "
            "we have for it. It works for 10 minutes.", login=typed), "info")
    return redirect(url_for("cabinet.reset_code"))


def reset_code():
    form = CodeForm(data={"login": session.get(LOGIN_KEY, "")} if request.method == "GET"
                    else None)
    if not form.validate_on_submit():
        return render_template("cabinet/reset_code.html", form=form)
    login = form.login.data.strip()
    try:
        with runtime().session(actor=cabinet.actor(login[:100])) as db:
            account = cabinet_reset.reset(db, login, form.code.data, form.password.data)
    except ValidationError as exc:
        form.password.errors.append(reason(exc))
        return render_template("cabinet/reset_code.html", form=form), 400
    if account is None:
        form.code.errors.append(_("The code is wrong or no longer works. Ask for a new one."))
        return render_template("cabinet/reset_code.html", form=form), 400
    session.pop(LOGIN_KEY, None)
    flash(_("Your password is changed. Log in with it."), "info")
    return redirect(url_for("cabinet.login"))


def register(bp) -> None:
    bp.add_url_rule("/reset", "reset", reset, methods=("GET", "POST"))
    bp.add_url_rule("/reset/code", "reset_code", reset_code, methods=("GET", "POST"))
