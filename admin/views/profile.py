"""My profile: the manager's own interface language, password and second factor."""
from __future__ import annotations

from flask import flash, redirect, session, url_for
from flask_admin import expose
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField
from wtforms.validators import DataRequired

from admin import second_factor, staff
from admin.auth import CodeForm, current_manager, security, session_token
from admin.db import manager_session
from admin.forms import attach_error, options
from admin.languages import LANGUAGE_NAMES
from admin.views.base import GuardedView, needs
from core.errors import ValidationError
from core.models import Manager


class LanguageForm(FlaskForm):
    language = SelectField(_l("Interface language"), choices=options(LANGUAGE_NAMES.items()))


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(_l("The same password again"), validators=[DataRequired()])


#: the Flask session's key of a new second-factor secret shown but not yet confirmed
NEW_SECRET_KEY = "abonent_new_totp"


class ProfileView(GuardedView):
    """Open to every manager: it changes only the manager's own row."""

    def can(self, action: str = "view") -> bool:
        return current_user.is_authenticated

    def is_visible(self) -> bool:
        return False

    def _page(self, language=None, password=None, code=None):
        enrolment = None
        if not current_user.second_factor:  # a new secret to set up, the same until used
            secret = session.setdefault(NEW_SECRET_KEY, second_factor.new_secret())
            link = second_factor.uri(secret, current_user.login)
            enrolment = {"secret": secret, "uri": link, "qr": second_factor.qr_image(link)}
        return self.render("abonent/profile.html",
                           language=language or LanguageForm(language=current_user.language),
                           password=password or PasswordForm(), code=code or CodeForm(),
                           enrolment=enrolment)

    @expose("/")
    def index(self):
        return self._page()

    @expose("/language", methods=("POST",))
    @needs("own")
    def language(self):
        form = LanguageForm()
        if form.validate_on_submit():
            with manager_session() as session:
                manager = staff.update_manager(session, current_user.id,
                                               language=form.language.data)
                user = current_manager(manager)
            login_user(user)
            with force_locale(user.language):
                flash(_("Language changed."), "success")
            return redirect(url_for(".index"))
        return self._page(language=form)

    @expose("/password", methods=("POST",))
    @needs("own")
    def password(self):
        form = PasswordForm()
        if form.validate_on_submit():
            try:
                with manager_session() as session:
                    if not staff.verify(session.get(Manager, current_user.id), form.current.data):
                        raise ValidationError("current", "is not your current password")
                    staff.set_password(session, current_user.id, form.password.data,
                                       form.confirm.data, keep_session=session_token())
                    user = current_manager(session.get(Manager, current_user.id))
            except ValidationError as exc:
                attach_error(form, exc)
            else:
                login_user(user)
                flash(_("Your password is changed."), "success")
                return redirect(url_for(".index"))
        return self._page(password=form)

    @expose("/second-factor", methods=("POST",))
    @needs("own")
    def second_factor(self):
        """Turn the second factor on (the new secret, confirmed by a code) or off (a
        current code proves the manager still has it)."""
        form = CodeForm()
        if form.validate_on_submit():
            try:
                with manager_session() as db:
                    if current_user.second_factor:
                        second_factor.turn_off(db, current_user.id, form.code.data,
                                               security()["totp_for_administrators"])
                    else:
                        second_factor.turn_on(db, current_user.id,
                                              session.get(NEW_SECRET_KEY, ""), form.code.data)
            except ValidationError as exc:
                attach_error(form, exc)
            else:
                session.pop(NEW_SECRET_KEY, None)
                flash(_("The second factor is off.") if current_user.second_factor else
                      _("The second factor is on: log in with a code from now on."), "success")
                return redirect(url_for(".index"))
        return self._page(code=form)
