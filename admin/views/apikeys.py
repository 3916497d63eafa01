"""Settings → API keys: an administrator makes a key for another system (its token shown
on the answer page only, never stored nor flashed into the cookie) and revokes one.

A key acts with a role's permissions, so handing one out is like adding a manager: the
page belongs to the "staff" area (staff:view to see the keys, staff:edit to change them).
"""
from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import InputRequired

from admin.db import manager_session
from admin.forms import attach_error, flash_refused
from admin.views.base import GuardedView, needs
from api import keys
from core.errors import ValidationError
from core.models import ApiKey, Role


class KeyForm(FlaskForm):
    name = StringField(_l("Name (the system that uses it)"), validators=[InputRequired()])
    role = SelectField(_l("Role"))
    rate_limit = IntegerField(_l("Requests a minute"), default=600,
                              validators=[InputRequired()])


class ApiKeysView(GuardedView):
    area = "staff"

    def _page(self, form: KeyForm, token: str | None = None, made: str | None = None):
        with manager_session() as session:
            rows = keys.keys(session)
        return self.render("abonent/apikeys.html", rows=rows, form=form, token=token,
                           made=made)

    def _form(self) -> KeyForm:
        form = KeyForm()
        with manager_session() as session:
            form.role.choices = list(session.scalars(select(Role.name).order_by(Role.name)))
        return form

    @expose("/")
    def index(self):
        return self._page(self._form())

    @expose("/create", methods=("POST",))
    @needs("edit")
    def create(self):
        form = self._form()
        if not form.validate_on_submit():
            return self._page(form)
        try:
            with manager_session() as session:
                made = keys.create_key(session, form.name.data, form.role.data,
                                       rate_limit=form.rate_limit.data)
        except ValidationError as exc:
            attach_error(form, exc)
            return self._page(form)
        return self._page(self._form(), token=made.token, made=form.name.data)

    @expose("/<int:key_id>/revoke", methods=("POST",))
    @needs("edit")
    def revoke(self, key_id: int):
        with manager_session() as session:
            key = session.get(ApiKey, key_id)
            if key is None:
                abort(404)
            name = key.name
        try:
            with manager_session() as session:
                keys.revoke_key(session, name)
        except ValidationError as exc:
            flash_refused(exc)
        else:
            flash(_("API key %(name)s revoked: its token is refused from now on.", name=name),
                  "success")
        return redirect(url_for(".index"))
