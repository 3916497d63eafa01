"""Managers and roles (written through admin.staff, which keeps the rules and the audit
log), one-time set-up links, and the audit log itself."""
from __future__ import annotations

import re

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.model.template import DeleteRowAction, TemplateLinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import and_, func, select
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import InputRequired

from admin import second_factor, staff, throttle
from admin.auth import security, session_token
from admin.formatting import changes_text, localtime, pretty_json
from admin.forms import flash_refused, options
from admin.languages import LANGUAGE_NAMES
from admin.permissions import ACTION_TITLES, AREA_TITLES, AREAS
from admin.views.base import GuardedModelView, ModelForm, ServiceModelView, needs
from core.clock import now
from core.errors import ValidationError
from core.models import AuditEntry, Manager, Role

STAFF = {"create": "edit", "edit": "edit", "delete": "edit"}


class ManagerForm(ModelForm):
    login = StringField(_l("Login"), validators=[InputRequired()])
    name = StringField(_l("Name"), validators=[InputRequired()])
    role_id = SelectField(_l("Role"), coerce=int)
    language = SelectField(_l("Language"), choices=options(LANGUAGE_NAMES.items()))
    active = BooleanField(_l("Active"), default=True)
    email = StringField(_l("E-mail"), description=_l(
        "Optional: HelpDesk tells the manager here of answers in their tickets."))
    password = PasswordField(_l("Password"), description=_l(
        "Optional: without one, make a set-up link for the manager."))
    confirm = PasswordField(_l("The same password again"))


def _post_button(url: str, label: str, css: str, confirm: str | None = None) -> Markup:
    """A one-button form of a list cell (CSRF token included)."""
    return Markup(
        '<form method="post" action="{}" class="d-inline"{}><input type="hidden" '
        'name="csrf_token" value="{}"><button class="btn btn-link btn-sm p-0 {}">{}'
        '</button></form>').format(url, Markup(' data-confirm="{}"').format(confirm)
                                   if confirm else "", generate_csrf(), css, label)


def _second_factor(view, manager: Manager) -> Markup | str:
    if manager.totp_secret is None:
        return _("off")
    if not view.can("edit"):
        return _("on")
    return Markup("{} ").format(_("on")) + _post_button(
        url_for("manager.reset_second_factor", manager_id=manager.id), _("reset"),
        "reset-second-factor",
        _("Reset the second factor of %(login)s? They log in with the password alone "
          "until they set it up again.", login=manager.login))


class ManagerView(ServiceModelView):
    area = "staff"
    actions_needed = STAFF
    allow_create = allow_edit = True
    form = ManagerForm
    list_template = "abonent/manager_list.html"
    column_list = ("login", "name", "role", "language", "active", "password", "second_factor",
                   "last_login_at", "link")
    column_labels = {"login": _l("Login"), "name": _l("Name"), "role": _l("Role"),
                     "language": _l("Language"), "active": _l("Active"),
                     "password": _l("Password"), "second_factor": _l("Second factor"),
                     "last_login_at": _l("Last login"), "link": _l("Set-up link")}
    column_sortable_list = ("login",)
    column_default_sort = ("login", False)
    column_formatters = {
        "role": lambda v, c, m, n: m.role.name,
        "language": lambda v, c, m, n: LANGUAGE_NAMES.get(m.language, m.language),
        "password": lambda v, c, m, n: _("set") if m.password_hash else _("not set"),
        "last_login_at": lambda v, c, m, n: localtime(m.last_login_at),
        "second_factor": lambda v, c, m, n: _second_factor(v, m),
        "link": lambda v, c, m, n: _post_button(url_for("manager.link", manager_id=m.id),
                                                _("make a link"), "make-link")
        if v.can("edit") else "",
    }

    def _with_roles(self, form):
        form.role_id.choices = options((r.id, r.name) for r in self.session.scalars(
            select(Role).order_by(Role.builtin.desc(), Role.name)))
        return form

    def create_form(self, obj=None):
        return self._with_roles(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._with_roles(super().edit_form(obj))

    @staticmethod
    def _values(form) -> dict:
        return {"login": form.login.data, "name": form.name.data, "role_id": form.role_id.data,
                "language": form.language.data, "active": bool(form.active.data),
                "email": form.email.data}

    def create_with(self, form):
        return staff.create_manager(self.session, password=form.password.data or None,
                                    confirm=form.confirm.data, **self._values(form))

    def update_with(self, form, model):
        manager = staff.update_manager(self.session, model.id, **self._values(form))
        if form.password.data:
            staff.set_password(self.session, model.id, form.password.data, form.confirm.data,
                               keep_session=session_token() if model.id == current_user.id
                               else None)
        return manager

    @expose("/locked/")
    def locked(self):
        """Logins and addresses held back after failed attempts (admin.throttle)."""
        limits = throttle.Limits.of(security())
        return self.render("abonent/locked_logins.html", can_unlock=self.can("edit"),
                           held=throttle.held(self.session, limits, now()))

    @expose("/unlock", methods=("POST",))
    @needs("edit")
    def unlock(self):
        try:
            throttle.unlock(self.session, request.form.get("key"))
            self.session.commit()
        except ValidationError as exc:
            self.session.rollback()
            flash_refused(exc)
        else:
            flash(_("%(key)s is unlocked.", key=request.form.get("key")), "success")
        return redirect(url_for(".locked"))

    @expose("/second-factor/<int:manager_id>/reset", methods=("POST",))
    @needs("edit")
    def reset_second_factor(self, manager_id: int):
        """A manager who lost the phone with the authenticator app logs in again."""
        try:
            login = second_factor.reset(self.session, manager_id).login
            self.session.commit()
        except ValidationError as exc:
            self.session.rollback()
            flash_refused(exc)
        else:
            flash(_("The second factor of %(login)s is reset.", login=login), "success")
        return redirect(url_for(".index_view"))

    @expose("/link/<int:manager_id>", methods=("POST",))
    @needs("edit")
    def link(self, manager_id: int):
        """A one-time link for the manager to set a password (new manager, forgotten one)."""
        try:
            token = staff.issue_setup_token(self.session, manager_id)
            login = self.session.get(Manager, manager_id).login
            self.session.commit()
        except ValidationError as exc:
            self.session.rollback()
            flash_refused(exc)
            return redirect(url_for(".index_view"))
        return self.render("abonent/setup_link.html", login=login,
                           link=url_for("auth.setup", token=token, _external=True),
                           hours=int(staff.LINK_LIFETIME.total_seconds() // 3600))


class RoleForm(ModelForm):
    name = StringField(_l("Name"), validators=[InputRequired()])


class RoleView(ServiceModelView):
    area = "staff"
    actions_needed = STAFF
    allow_create = allow_edit = allow_delete = True
    form = RoleForm
    create_template = edit_template = "abonent/role_form.html"
    list_template = "abonent/role_list.html"
    column_list = ("name", "builtin", "permissions", "managers")
    column_labels = {"name": _l("Name"), "builtin": _l("Built-in"),
                     "permissions": _l("Permissions"), "managers": _l("Managers")}
    column_sortable_list = ()
    column_default_sort = ("id", False)
    column_formatters = {
        "permissions": lambda v, c, m, n: ", ".join(sorted(m.permissions)),
        "managers": lambda v, c, m, n: v.session.scalar(
            select(func.count()).select_from(Manager).where(Manager.role_id == m.id)),
    }

    def get_list_row_actions(self):
        """Flask-Admin's delete button, asking its question without an inline handler."""
        return [TemplateLinkRowAction("abonent_rows.delete_row", action.title)
                if isinstance(action, DeleteRowAction) else action
                for action in super().get_list_row_actions()]

    def render(self, template, **kwargs):
        if template == self.create_template:
            model = kwargs.get("model")
            source = model
            if source is None and request.args.get("copy", "").isdecimal():
                source = self.session.get(Role, int(request.args["copy"]))
            chosen = (set(request.form.getlist("perm")) if request.method == "POST"
                      else set(source.permissions if source is not None else ()))
            kwargs.update(areas=AREAS, area_titles=AREA_TITLES, action_titles=ACTION_TITLES,
                          chosen=chosen, builtin=bool(model is not None and model.builtin))
        return super().render(template, **kwargs)

    def create_with(self, form):
        return staff.save_role(self.session, None, name=form.name.data,
                               permissions=request.form.getlist("perm"))

    def update_with(self, form, model):
        return staff.save_role(self.session, model.id, name=form.name.data,
                               permissions=request.form.getlist("perm"))

    def delete_model(self, model):
        try:
            staff.delete_role(self.session, model.id)
            self.session.commit()
            return True
        except ValidationError as exc:
            self.session.rollback()
            flash(_("Refused — %(field)s: %(reason)s", field=_("Role"), reason=_(exc.reason)),
                  "error")
            return False


class AuditView(GuardedModelView):
    """Who changed what: every change made in the admin, the CLI, jobs and plugins."""

    area = "audit"
    can_view_details = True
    column_list = ("at", "actor", "action", "object_type", "object_id", "changes")
    column_labels = {"at": _l("When"), "actor": _l("Who"), "action": _l("Action"),
                     "object_type": _l("Object"), "object_id": "#", "changes": _l("Changes")}
    column_sortable_list = ()
    column_default_sort = ("id", True)
    column_searchable_list = ("actor",)
    column_filters = (
        FilterEqual(AuditEntry.actor, _l("Who")),
        FilterEqual(AuditEntry.object_type, _l("Object")),
        FilterEqual(AuditEntry.object_id, _l("Object #")),
        FilterEqual(AuditEntry.action, _l("Action")),
    )
    column_formatters = {
        "at": lambda v, c, m, n: localtime(m.at, True),
        "object_id": lambda v, c, m, n: Markup('<a href="{}">{}</a>').format(
            url_for("card.show", account_id=int(m.object_id)), m.object_id)
        if m.object_type == "account" and (m.object_id or "").isdigit() else (m.object_id or ""),
        "changes": lambda v, c, m, n: changes_text(m.changes),
    }
    column_formatters_detail = {"changes": lambda v, c, m, n: pretty_json(m.changes)}

    def search_placeholder(self):
        return _("manager login, or object:id (account:12)")

    def search_filter(self, term):
        match = re.fullmatch(r"(\w+):(\S+)", term)
        if match and match[1] != "manager":
            return and_(AuditEntry.object_type == match[1], AuditEntry.object_id == match[2])
        return AuditEntry.actor.in_([term, f"manager:{term}"])
