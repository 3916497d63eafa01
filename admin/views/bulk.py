"""Bulk actions on the accounts list: block, unblock, change the tariff, send a message.

Flask-Admin's "With selected" menu posts the ticked rows to `action_view`; each action
answers with a confirmation page (what will be done to which accounts, with the inputs
it needs: a reason, the new tariff, the message), whose form posts to `bulk`. There each
account (or, for a message, each contract once) goes through the core's service
functions in a transaction of its own, so the events reach the outbox exactly as from
the account card and one refusal does not undo the others; the page then says how many
were done and which failed and why. Each action needs its permission (on the menu, on
the confirmation and on the run), and the run is written to the audit log.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import request
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from admin.db import manager_session
from admin.forms import options, reason
from admin.views.base import key, log
from core import blocking
from core.audit import audit
from core.errors import AbonentError, ValidationError
from core.models import Account, Contract, Tariff
from core.services import accounts
from core.state import AccountState, states_of

#: the most rows one run takes (a list's page holds far fewer)
MAX_ROWS = 500
#: action -> the permission it needs
NEEDS = {"block": "accounts:block", "unblock": "accounts:block",
         "tariff": "accounts:services", "message": "subscribers:edit"}
TITLES = {"block": _l("Block"), "unblock": _l("Unblock"), "tariff": _l("Change the tariff"),
          "message": _l("Send a message")}


class BulkForm(FlaskForm):
    action = HiddenField()
    ids = HiddenField()
    reason = StringField(_l("Reason"))
    tariff_id = SelectField(_l("New tariff"), coerce=str, validate_choice=False)
    subject = StringField(_l("Subject"))
    body = TextAreaField(_l("Message"))


def _message(form: BulkForm) -> Callable[[Any, int], Any]:
    from core import queue_mail  # the documents' mail log (core.mail)
    return lambda session, contract_id: queue_mail(session, contract_id, form.subject.data,
                                                   form.body.data)


#: action -> what it does to one target (an account id; a contract id for a message)
OPERATIONS: dict[str, Callable[[BulkForm], Callable[[Any, int], Any]]] = {
    "block": lambda form: lambda session, account_id: blocking.set_block(
        session, account_id, AccountState.ADMIN, reason=form.reason.data or None),
    "unblock": lambda form: lambda session, account_id: blocking.lift_block(
        session, account_id, AccountState.ADMIN, reason=form.reason.data or None),
    "tariff": lambda form: lambda session, account_id: accounts.change_tariff(
        session, account_id, key(form.tariff_id.data)),
    "message": _message,
}
#: the inputs each action asks for (and requires)
INPUTS = {"block": ("reason",), "unblock": ("reason",), "tariff": ("tariff_id",),
          "message": ("subject", "body")}
REQUIRED = {"tariff": ("tariff_id",), "message": ("subject", "body")}


def _offered(name: str):
    """The method Flask-Admin offers as action `name`: it shows the confirmation."""
    @action(name, TITLES[name])
    def offered(self, ids):
        return self._confirm(name, ids)
    return offered


class BulkActions:
    """Mixin for the accounts' list view (a GuardedModelView)."""

    bulk_block, bulk_unblock = _offered("block"), _offered("unblock")
    bulk_tariff, bulk_message = _offered("tariff"), _offered("message")

    def is_action_allowed(self, name: str) -> bool:
        return name in NEEDS and self.can(NEEDS[name]) and super().is_action_allowed(name)

    def needed(self, name: str) -> str | None:
        """The confirmation and the run need the permission of the action posted."""
        if name in ("action_view", "bulk"):
            return NEEDS.get(request.form.get("action", ""), "edit")
        return super().needed(name)

    def _ids(self, raw) -> list[int]:
        ids = sorted({number for number in map(key, raw) if number is not None})
        if len(ids) > MAX_ROWS:
            raise ValidationError("ids", f"at most {MAX_ROWS} rows at once")
        return ids

    def _form(self, name: str, ids: list[int] | None = None) -> BulkForm:
        form = BulkForm()
        if ids is not None:
            form.action.data, form.ids.data = name, ",".join(map(str, ids))
        with manager_session() as session:
            form.tariff_id.choices = options(session.execute(
                select(Tariff.id, Tariff.name).where(Tariff.archived.is_(False))
                .order_by(Tariff.name)).all())
        return form

    def _page(self, name: str, form: BulkForm, ids: list[int], result=None):
        with manager_session() as session:
            rows = session.execute(
                select(Account.id, Account.login, Contract.number, Account.trashed_at)
                .join(Contract, Contract.id == Account.contract_id)
                .where(Account.id.in_(ids)).order_by(Account.id)).all()
            states = states_of(session, ids)
        return self.render("abonent/bulk.html", action=name, title=TITLES[name], form=form,
                           inputs=INPUTS[name], rows=rows, states=states, result=result)

    def _confirm(self, name: str, raw_ids):
        ids = self._ids(raw_ids)
        return self._page(name, self._form(name, ids), ids)

    @expose("/bulk", methods=("POST",))
    def bulk(self):
        name = request.form.get("action", "")
        form = self._form(name)
        ids = self._ids(form.ids.data.split(",") if form.ids.data else [])
        if not form.validate_on_submit() or name not in OPERATIONS or not ids:
            return self._page(name if name in OPERATIONS else "block", form, ids)
        missing = [field for field in REQUIRED.get(name, ())
                   if not (form[field].data or "").strip()]
        for field in missing:
            form[field].errors = [*form[field].errors, _("Required.")]
        if missing:
            return self._page(name, form, ids)
        return self._page(name, form, ids, result=self._run(name, form, ids))

    def _targets(self, name: str, ids: list[int]) -> list[tuple[int, str]]:
        """(target id, what the summary calls it): the accounts, or their contracts once
        each for a message (the mail goes to the contract's subscriber)."""
        with manager_session() as session:
            if name == "message":
                return session.execute(select(Contract.id, Contract.number).where(
                    Contract.id.in_(select(Account.contract_id).where(Account.id.in_(ids))))
                    .order_by(Contract.id)).all()
            return session.execute(select(Account.id, Account.login)
                                   .where(Account.id.in_(ids)).order_by(Account.id)).all()

    def _run(self, name: str, form: BulkForm, ids: list[int]) -> dict[str, Any]:
        operation = OPERATIONS[name](form)
        done: list[str] = []
        failed: list[tuple[str, str]] = []
        for target, label in self._targets(name, ids):
            try:
                with manager_session() as session:
                    operation(session, target)
            except ValidationError as exc:
                failed.append((label, f"{exc.field}: {reason(exc)}"))
            except AbonentError as exc:
                failed.append((label, str(exc)))
            except Exception:  # said in plain words, the details in the log
                log.exception("bulk %s of %s failed", name, label)
                failed.append((label, _("an internal error; it has been logged")))
            else:
                done.append(label)
        with manager_session() as session:
            audit(session, f"bulk_{name}", "account", None,
                  {"ids": ids, "done": done, "failed": dict(failed),
                   **{field: form[field].data for field in INPUTS[name]}})
        return {"done": done, "failed": failed}
