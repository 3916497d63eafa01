"""What every admin view shares: the permission check, and model views that write through
the core's service functions or, for plain settings rows, write the audit log themselves.

A view belongs to an area (see admin.permissions). Reading its pages needs
`<area>:view`; every endpoint that changes something names the action it needs with
`@needs("block")`, and a POST to an endpoint that names none is refused, so a view
cannot forget a check. Flask-Admin's own endpoints (create, edit, delete…) are mapped the
same way, and its Create/Edit/Delete buttons appear only when allowed.
"""
from __future__ import annotations

import logging
import warnings
from typing import Any

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import IntEqualFilter
from flask_admin.form import BaseForm
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import inspect, or_
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from admin import search
from admin.db import request_session
from admin.forms import attach_error, reason
from core.audit import audit
from core.errors import ValidationError
from core.services.inputs import MAX_KEY

log = logging.getLogger("abonent.admin")

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
#: the furthest page a list goes to: a page number beyond it shows this (empty) page,
#: instead of an offset the database cannot take
MAX_PAGE = 10**9


def key(raw) -> int | None:
    """The row id typed in a URL or a form, or None when it is not a number any row can
    have (so a hand-typed huge number is "not found", not an overflow in the driver)."""
    text = str(raw if raw is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if number <= MAX_KEY else None


def page_number() -> int:
    """The list page the URL asks for (0 for the first), clamped to 0…MAX_PAGE."""
    return min(max(request.args.get("page", 0, type=int), 0), MAX_PAGE)


def needs(action: str):
    """Mark an endpoint as needing `<area>:<action>` (or the full permission given, e.g.
    "payments:create" on the account card) besides `<area>:view`."""
    def mark(function):
        function._needs = action
        return function
    return mark


class Guarded:
    """Permission checks for a Flask-Admin view of one area."""

    area: str = ""

    def can(self, action: str = "view") -> bool:
        """`action` of this view's area, or a full permission ("payments:create")."""
        return current_user.can(action if ":" in action else f"{self.area}:{action}")

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and self.can("view")

    def needed(self, name: str) -> str | None:
        return getattr(getattr(type(self), name, None), "_needs", None)

    def _run_view(self, fn, *args: Any, **kwargs: Any):
        """Call the endpoint as the method it is (Flask-Admin retries a call that raised
        TypeError with other arguments, which hides the real error)."""
        return fn(self, *args, **kwargs)

    def _handle_view(self, name: str, **kwargs: Any):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        action = self.needed(name)
        if not self.can("view") or (action is not None and not self.can(action)):
            abort(403, description=f"{self.area}:{action or 'view'}")
        if action is None and request.method not in SAFE_METHODS:
            abort(403, description=f"{self.area}: read only")
        if any(isinstance(v, int) and v > MAX_KEY for v in kwargs.values()):
            abort(404)  # an id in the path (<int:…>) that no row can have
        return None


class KeyFilter(IntEqualFilter):
    """Equal to a row's id (a tariff, an agent…): a value that is no id is refused as
    invalid (Flask-Admin says so and lists unfiltered), never handed to the database."""

    def validate(self, value) -> bool:
        return key(value) is not None

    def clean(self, value) -> int:
        return key(value)


class GuardedView(Guarded, BaseView):
    """A page written by hand (templates under abonent/)."""


#: Flask-Admin's endpoints that change data, and the kind of change each is
MODEL_ENDPOINTS = {"create_view": "create", "edit_view": "edit", "delete_view": "delete",
                   "action_view": "edit", "ajax_update": "edit"}


class GuardedModelView(Guarded, ModelView):
    """A Flask-Admin model view in the request's session, paged without a count (a
    COUNT(*) of a million rows on every page is what makes big lists slow)."""

    allow_create = allow_edit = allow_delete = False
    #: the action of this area each kind of change needs
    actions_needed = {"create": "create", "edit": "edit", "delete": "delete"}
    simple_list_pager = True
    can_set_page_size = False
    page_size = 25
    column_display_actions = True
    action_disallowed_list = ["delete"]
    #: where a refused field's error goes when the core names it differently
    error_aliases: dict[str, str] = {}

    def __init__(self, model, **kwargs: Any):
        with warnings.catch_warnings():
            # Flask-Admin 2 would rather have a Flask-SQLAlchemy object; a scoped session
            # is what it works with either way, and Abonent has no Flask-SQLAlchemy
            warnings.filterwarnings("ignore", "Passing a session object directly",
                                    DeprecationWarning)
            super().__init__(model, request_session, **kwargs)

    def _get_filter_groups(self):
        """Filter options that come from the database (tariffs, agents…) are read again
        for each list, so a new tariff can be filtered on without a restart."""
        if self.column_filters:
            self._refresh_filters_cache()
        return super()._get_filter_groups()

    def get_one(self, id):
        """The row, or None for an id that is not a number (a hand-typed URL)."""
        return super().get_one(id) if key(id) is not None else None

    def _apply_pagination(self, query, page, page_size):
        return super()._apply_pagination(query, min(max(page or 0, 0), MAX_PAGE), page_size)

    def search_filter(self, term: str):
        """The condition the search box adds for `term`: by default a fragment of any of
        `column_searchable_list`, case-insensitive, `%` and `_` taken literally (small
        tables: tariffs, services, agents). Big lists override it with an indexed lookup."""
        return or_(*[getattr(self.model, name).icontains(term, autoescape=True)
                     for name in self.column_searchable_list])

    def _apply_search(self, query, count_query, joins, count_joins, term):
        return query.filter(self.search_filter(term.strip())), None, joins, count_joins

    def matching(self, column, ids):
        """`column` among the newest ids a lookup (admin.search) found; says so when the
        list is cut short."""
        found = search.newest(self.session, ids)
        if len(found) == search.CAP:
            flash(_("Only the newest %(n)s matches are listed: type more of the term.",
                    n=search.CAP), "info")
        return column.in_(found)

    def needed(self, name: str) -> str | None:
        if name in MODEL_ENDPOINTS:
            return self.actions_needed.get(MODEL_ENDPOINTS[name], MODEL_ENDPOINTS[name])
        return super().needed(name)

    @property
    def can_create(self) -> bool:
        return self.allow_create and self.can(self.actions_needed["create"])

    @property
    def can_edit(self) -> bool:
        return self.allow_edit and self.can(self.actions_needed["edit"])

    @property
    def can_delete(self) -> bool:
        return self.allow_delete and self.can(self.actions_needed["delete"])

    def handle_view_exception(self, exc: Exception) -> bool:
        """Explain in plain words; the details go to the log, never to the operator."""
        if isinstance(exc, ValidationError):
            flash(_("Refused — %(field)s: %(reason)s", field=exc.field, reason=reason(exc)),
                  "error")
        elif isinstance(exc, IntegrityError):
            log.warning("integrity error in %s: %s", self.endpoint, exc)
            flash(_("Not saved: it conflicts with existing data (a duplicate name or number, "
                    "or the record is still in use)."), "error")
        elif isinstance(exc, SQLAlchemyError):
            log.exception("database error in %s", self.endpoint)
            flash(_("Not saved: the database refused the change; it has been logged."), "error")
        else:
            log.exception("error in %s", self.endpoint)
            flash(_("Not saved: an internal error occurred; it has been logged."), "error")
        return True


class ServiceModelView(GuardedModelView):
    """A model view whose forms call the core's service functions (the objects whose
    creation or change has rules and events: subscribers, contracts, accounts,
    payments). The services validate, emit events and write the audit log."""

    def create_with(self, form) -> Any:
        raise NotImplementedError

    def update_with(self, form, model) -> Any:
        raise NotImplementedError

    def _saved(self, form, write) -> Any:
        try:
            result = write()
            self.session.commit()
            return result
        except ValidationError as exc:
            self.session.rollback()
            attach_error(form, exc, self.error_aliases)
        except Exception as exc:  # explained in plain words and logged, never a 500
            self.session.rollback()
            self.handle_view_exception(exc)
        return False

    def create_model(self, form):
        return self._saved(form, lambda: self.create_with(form))

    def update_model(self, form, model):
        return bool(self._saved(form, lambda: self.update_with(form, model) or True))


def changed_values(model) -> dict[str, Any]:
    """{column: {"old", "new"}} of a modified row, or the values of a new one."""
    state = inspect(model)
    changes: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if state.pending or state.transient:
            changes[attr.key] = new
        elif old != new:
            changes[attr.key] = {"old": old, "new": new}
    return changes


class AuditedModelView(GuardedModelView):
    """A model view writing plain settings rows itself (operator, tariffs, catalog
    services, agents), with an audit entry per change in the manager's name."""

    def audit_changes(self, model, is_created: bool) -> dict[str, Any]:
        return changed_values(model)

    def on_model_change(self, form, model, is_created):
        self.check(form, model, is_created)
        changes = self.audit_changes(model, is_created)
        self.session.flush()
        if changes or is_created:
            audit(self.session, "create" if is_created else "update",
                  model.__tablename__, inspect(model).identity[0], changes)

    def check(self, form, model, is_created: bool) -> None:
        """Validate the row before it is written; raise ValidationError(field, reason)."""

    def create_model(self, form):
        g.admin_form = form
        return super().create_model(form)

    def update_model(self, form, model):
        g.admin_form = form
        return super().update_model(form, model)

    def handle_view_exception(self, exc: Exception) -> bool:
        """A ValidationError from `check` goes next to its input (Flask-Admin catches
        the exceptions of create_model and update_model and hands them here)."""
        form = g.get("admin_form")
        if isinstance(exc, ValidationError) and form is not None:
            attach_error(form, exc, self.error_aliases)
            return True
        return super().handle_view_exception(exc)


class ModelForm(BaseForm):
    """A form whose extra inputs (declared fields, service lists) are not model columns:
    only inputs named like a mapped attribute are copied onto the row."""

    def populate_obj(self, obj):
        mapped = inspect(type(obj)).column_attrs.keys()
        for name, field in self._fields.items():
            if name in mapped:
                field.populate_obj(obj, name)
