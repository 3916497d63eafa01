"""The account card, the operator's main screen, and the actions taken from it.

The card shows the subscriber, the contract's balance, the effective state and the open
blocks, the subscriptions, recent charges, payments, events and changes, and each
plugin's panel. Every action calls the core's service function in a transaction in the
manager's name, then comes back to the card saying in plain words what happened (or
which input was refused and why). Forms with a financial or service effect ask first.
"""
from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (BooleanField, DateField, HiddenField, PasswordField, SelectField,
                     StringField)
from wtforms.validators import DataRequired, Optional

from admin.db import manager_session, runtime
from admin.formatting import STATE_TITLES, money
from admin.forms import attach_error, options, typed
from admin.headers import document_policy
from admin.views.base import GuardedView, needs
from admin.views.corrections import (MoneyActions, confirmed, money_forms, reversed_payments,
                                     without_needless_confirm)
from core import blocking, helpdesk, statements
from core.audit import audit
from core.charging import day_start
from core.clock import now
from core.errors import ValidationError
from core.fields import mask_secrets
from core.models import (
    Account,
    AuditEntry,
    Block,
    Charge,
    Delivery,
    MailMessage,
    OutboxEvent,
    Payment,
    Service,
    Subscription,
    Tariff,
    TariffChange,
    TariffService,
)
from core.money import money as to_money
from core.mail import queue_statement
from core.pdf import to_pdf
from core.services import accounts, cabinet, payments, subscriptions
from core.services.corrections import check_confirmed
from core.services.dates import local_today
from core.state import effective_state, open_blocks

RECENT = 10
BLOCK_TITLES = {"admin": _l("Blocked by a manager"), "disabled": _l("Switched off"),
                "voluntary": _l("Voluntary block"), "balance": _l("Balance block")}


class BlockForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional()])


class VoluntaryForm(FlaskForm):
    start = DateField(_l("From (first day)"), validators=[Optional()])
    end = DateField(_l("Until (last day, inclusive)"), validators=[Optional()])
    reason = StringField(_l("Reason"), validators=[Optional()])


class AssignForm(FlaskForm):
    service_id = SelectField(_l("Service"), coerce=int, validators=[DataRequired()])
    start_on = DateField(_l("From"), validators=[Optional()])
    end_on = DateField(_l("Until (inclusive)"), validators=[Optional()])
    active = BooleanField(_l("Active now"), default=True)


class TariffForm(FlaskForm):
    tariff_id = SelectField(_l("New tariff"), coerce=int, validators=[DataRequired()])
    on = DateField(_l("On"), validators=[Optional()])


class CabinetPasswordForm(FlaskForm):
    password = PasswordField(_l("Cabinet password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "new-password"})


class PaymentForm(FlaskForm):
    amount = StringField(_l("Amount"), validators=[DataRequired()])
    comment = StringField(_l("Comment"), validators=[Optional()])
    confirm = BooleanField(_l("Confirm a large amount"))
    key = HiddenField()


def _account(session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        abort(404, description=_("There is no account %(id)s.", id=account_id))
    return account


def plugin_panels(session, account: Account, hook: str = "abonent_account_panel"
                  ) -> list[dict[str, Any]]:
    """Each plugin's panel (of the card, or of the cabinet with `hook`); a plugin that
    fails shows its error in its own panel (in a savepoint, so its failed query cannot
    spoil the page's transaction)."""
    rt = runtime()
    panels = []
    for impl in rt.pm.impls(hook):
        try:
            with session.begin_nested():
                panel = rt.pm.call_one(hook, impl.plugin_name, session=session,
                                       account=account)
        except Exception as exc:  # a plugin's failure stays inside its panel
            panels.append({"plugin": impl.plugin_name, "title": impl.plugin_name,
                           "error": f"{type(exc).__name__}: {exc}"})
            continue
        if panel is not None:
            panels.append({"plugin": impl.plugin_name, "title": panel.title, "rows": panel.rows,
                           "tables": panel.tables})
    return panels


def reconcilers() -> list[str]:
    return [impl.plugin_name for impl in runtime().pm.impls("abonent_reconcile")]


def synchronise(account_id: int) -> list[dict[str, Any]]:
    """Run every plugin's reconcile for the account, fixing drift; one entry per plugin
    with its report or its error."""
    rt = runtime()
    results = []
    for name in reconcilers():
        try:
            report = rt.pm.call_one("abonent_reconcile", name, ctx=rt.context(name),
                                    account_id=account_id, fix=True)
        except Exception as exc:  # shown on the card, never a 500
            results.append({"plugin": name, "error": f"{type(exc).__name__}: {exc}"})
            continue
        if report is None:
            results.append({"plugin": name, "nothing": True})
        else:
            results.append({"plugin": name, "checked": report.checked, "drift": report.drift,
                            "errors": report.errors})
    return results


class AccountCard(MoneyActions, GuardedView):
    area = "accounts"

    def is_visible(self) -> bool:
        return False

    # --- the card -------------------------------------------------------------------

    def _forms(self, session, account: Account) -> dict[str, FlaskForm]:
        offered = session.execute(
            select(Service.id, Service.name)
            .join(TariffService, TariffService.service_id == Service.id)
            .where(TariffService.tariff_id == account.tariff_id, Service.archived.is_(False))
            .order_by(Service.name)).all()
        assigned = {s.service_id for s in account.subscriptions if s.state != "ended"}
        shown = {"formdata": None}  # empty forms to fill in, whatever request showed the card
        assign = AssignForm(prefix="assign", **shown)
        assign.service_id.choices = options((i, n) for i, n in offered if i not in assigned)
        tariff = TariffForm(prefix="tariff", **shown)
        # a tariff holding another platform's services is no choice for this agent's account
        foreign = (select(TariffService.tariff_id)
                   .join(Service, Service.id == TariffService.service_id)
                   .where(Service.agent_type.is_not(None),
                          Service.agent_type != account.agent.type))
        tariff.tariff_id.choices = options((t.id, t.name) for t in session.scalars(
            select(Tariff).where(Tariff.archived.is_(False), Tariff.id != account.tariff_id,
                                 Tariff.id.not_in(foreign))
            .order_by(Tariff.name)))
        tariff.on.data = tariff.on.data or local_today(account)
        voluntary = VoluntaryForm(prefix="voluntary", **shown)
        voluntary.start.data = voluntary.start.data or local_today(account)
        return {"admin": BlockForm(prefix="admin", **shown),
                "disabled": BlockForm(prefix="disabled", **shown),
                "voluntary": voluntary, "assign": assign, "tariff": tariff,
                "cabinet": CabinetPasswordForm(prefix="cabinet", **shown),
                "payment": without_needless_confirm(
                    PaymentForm(prefix="payment", key=uuid.uuid4().hex, **shown)),
                **money_forms()}

    def _card(self, account_id: int, sync_results=None):
        with manager_session() as session:
            account = _account(session, account_id)
            contract = account.contract
            blocks = open_blocks(session, account.id)
            upcoming = list(session.scalars(select(Block).where(
                Block.account_id == account.id, Block.lifted_at.is_(None),
                Block.start_at > now()).order_by(Block.start_at)))
            agent_type = runtime().agent_types.get(account.agent.type)
            fields = dict(account.fields or {})
            if agent_type is not None:
                fields = mask_secrets(agent_type.account_fields, fields)
            context = dict(
                account=account, contract=contract, subscriber=contract.subscriber,
                state="trash" if account.trashed else effective_state(b.source for b in blocks),
                blocks=blocks, upcoming=upcoming, fields=fields,
                agent_type=agent_type,
                subscriptions=list(session.scalars(select(Subscription).where(
                    Subscription.account_id == account.id).order_by(
                    Subscription.state == "ended", Subscription.id.desc()))),
                planned=list(session.scalars(select(TariffChange).where(
                    TariffChange.account_id == account.id, TariffChange.done_at.is_(None),
                    TariffChange.cancelled_at.is_(None)).order_by(TariffChange.effective_on))),
                tariffs={t.id: t.name for t in session.scalars(select(Tariff))},
                charges=list(session.scalars(select(Charge).where(
                    Charge.account_id == account.id).order_by(Charge.id.desc()).limit(RECENT))),
                payments=list(session.scalars(select(Payment).where(
                    Payment.contract_id == contract.id).order_by(Payment.id.desc()).limit(RECENT))),
                reversed_ids=reversed_payments(session, contract.id),
                events=self._events(session, account.id),
                history=list(session.scalars(select(AuditEntry).where(
                    AuditEntry.object_type == "account", AuditEntry.object_id == str(account.id))
                    .order_by(AuditEntry.id.desc()).limit(RECENT))),
                panels=plugin_panels(session, account),
                forms=self._forms(session, account),
                reconcilers=reconcilers(), sync_results=sync_results,
                mails=list(session.scalars(select(MailMessage).where(
                    MailMessage.contract_id == contract.id).order_by(
                    MailMessage.id.desc()).limit(RECENT))),
                block_titles=BLOCK_TITLES, state_titles=STATE_TITLES,
                today=local_today(account),
                tickets=[t for t in helpdesk.tickets_of(session, account)
                         if t.status != "closed"][:RECENT],
            )
            return self.render("abonent/card.html", **context)

    @staticmethod
    def _events(session, account_id: int) -> list[tuple[OutboxEvent, list[Delivery]]]:
        events = list(session.scalars(select(OutboxEvent).where(
            OutboxEvent.account_id == account_id).order_by(OutboxEvent.id.desc()).limit(RECENT)))
        deliveries: dict[int, list[Delivery]] = {e.id: [] for e in events}
        if events:
            for delivery in session.scalars(select(Delivery).where(
                    Delivery.event_id.in_(list(deliveries))).order_by(Delivery.plugin)):
                deliveries[delivery.event_id].append(delivery)
        return [(e, deliveries[e.id]) for e in events]

    @expose("/")
    def index(self):
        """The card needs an account: without one, the list of accounts."""
        return redirect(url_for("account.index_view"))

    @expose("/<int:account_id>")
    def show(self, account_id: int):
        return self._card(account_id)

    @expose("/<int:account_id>/statement")
    @needs("charges:view")
    def statement(self, account_id: int):
        """The contract's statement (core.statements) of ?from=…&to=… as a printable page,
        as PDF with format=pdf, or as CSV with format=csv; a bad period is named on the
        card."""
        if not self.can("payments:view"):
            abort(403, description="payments:view")
        fmt = request.args.get("format")
        try:
            with manager_session() as session:
                account = _account(session, account_id)
                built = statements.build(session, account.contract_id,
                                         request.args.get("from"), request.args.get("to"))
                document = (statements.render_csv(built) if fmt == "csv"
                            else statements.render_html(session, built))
        except ValidationError as exc:
            flash(_("Refused — %(field)s: %(reason)s", field=exc.field, reason=_(exc.reason)),
                  "error")
            return redirect(url_for(".show", account_id=account_id))
        name = re.sub(r"[^A-Za-z0-9._-]", "_",
                      f"statement-{built.number}-{built.first_day}-{built.last_day}")
        if fmt == "csv":
            return Response(document, mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
        if fmt == "pdf":
            return Response(to_pdf(document), mimetype="application/pdf",
                            headers={"Content-Disposition": f'inline; filename="{name}.pdf"'})
        return Response(document, mimetype="text/html",
                        headers={"Content-Security-Policy": document_policy(document)})

    @expose("/<int:account_id>/statement/email", methods=("POST",))
    @needs("invoices:create")
    def email_statement(self, account_id: int):
        """Queue the statement of the days given (PDF) to the subscriber's e-mail."""
        def queue(session, account):
            first, last = statements.check_period(request.form.get("from"),
                                                  request.form.get("to"), local_today(account))
            queued = queue_statement(session, account.contract, first, last)
            return (_("The statement was queued to %(to)s.", to=queued.mail.recipient)
                    if queued.new else _("This statement was already queued or sent to "
                                         "%(to)s: nothing sent again.",
                                         to=queued.mail.recipient))
        return self._act(account_id, None, queue)

    # --- actions ------------------------------------------------------------------

    def _act(self, account_id: int, form: FlaskForm | None, action, done: str | None = None):
        """Run `action(session, account)` in the manager's transaction; flash what it
        returns (or `done`), or the refusal next to its input's name."""
        if form is not None and not form.validate_on_submit():
            for name, errors in form.errors.items():
                flash(_("Refused — %(field)s: %(reason)s", field=form[name].label.text,
                        reason="; ".join(map(str, errors))), "error")
            return redirect(url_for(".show", account_id=account_id))
        try:
            with manager_session() as session:
                message = action(session, _account(session, account_id)) or done
        except ValidationError as exc:
            if form is not None:
                attach_error(form, exc, {"start_at": "start", "end_at": "end", "on": "on"})
            else:
                flash(_("Refused — %(field)s: %(reason)s", field=exc.field, reason=_(exc.reason)),
                      "error")
        else:
            flash(message, "success")
        return redirect(url_for(".show", account_id=account_id))

    @staticmethod
    def _state(session, account: Account) -> str:
        state = effective_state(b.source for b in open_blocks(session, account.id))
        return str(STATE_TITLES.get(state, state))

    @expose("/<int:account_id>/block/<source>", methods=("POST",))
    @needs("block")
    def block(self, account_id: int, source: str):
        if source not in ("admin", "disabled"):
            abort(404)
        form = BlockForm(prefix=source)

        def run(session, account):
            blocking.set_block(session, account.id, source, reason=form.reason.data or None)
            return _("%(login)s: %(what)s. State now: %(state)s.", login=account.login,
                     what=BLOCK_TITLES[source], state=self._state(session, account))
        return self._act(account_id, form, run)

    @expose("/<int:account_id>/voluntary", methods=("POST",))
    @needs("block")
    def voluntary(self, account_id: int):
        form = VoluntaryForm(prefix="voluntary")

        def run(session, account):
            tz = account.contract.operator.timezone
            first: date = form.start.data or local_today(account)
            start = None if first <= local_today(account) else day_start(first, tz)
            try:
                end = day_start(form.end.data + timedelta(days=1), tz) if form.end.data else None
            except OverflowError:
                raise ValidationError("end_at", "is too far in the future") from None
            blocking.set_block(session, account.id, "voluntary", start_at=start, end_at=end,
                               reason=form.reason.data or None)
            if form.end.data:
                return _("%(login)s: voluntary block from %(start)s to %(end)s inclusive.",
                         login=account.login, start=first, end=form.end.data)
            return _("%(login)s: voluntary block from %(start)s until lifted.",
                     login=account.login, start=first)
        return self._act(account_id, form, run)

    @expose("/<int:account_id>/unblock/<source>", methods=("POST",))
    @needs("block")
    def unblock(self, account_id: int, source: str):
        if source not in blocking.MANUAL_SOURCES:
            abort(404)

        def run(session, account):
            blocking.lift_block(session, account.id, source)
            return _("%(login)s: %(what)s lifted. State now: %(state)s.", login=account.login,
                     what=BLOCK_TITLES[source], state=self._state(session, account))
        return self._act(account_id, None, run)

    @expose("/<int:account_id>/assign", methods=("POST",))
    @needs("services")
    def assign(self, account_id: int):
        form = AssignForm(prefix="assign")
        with manager_session() as session:
            form.service_id.choices = options(session.execute(select(Service.id, Service.name)))

        def run(session, account):
            subscription = subscriptions.assign_service(
                session, account.id, form.service_id.data, start_on=form.start_on.data,
                end_on=form.end_on.data, active=bool(form.active.data))
            return _("%(service)s assigned to %(login)s from %(start)s (%(state)s).",
                     service=subscription.service.name, login=account.login,
                     start=subscription.start_on, state=_(subscription.state))
        return self._act(account_id, form, run)

    @expose("/<int:account_id>/subscription/<int:subscription_id>/<operation>",
            methods=("POST",))
    @needs("services")
    def subscription(self, account_id: int, subscription_id: int, operation: str):
        functions = {"activate": (subscriptions.activate, _l("%(service)s is active.")),
                     "deactivate": (subscriptions.deactivate, _l("%(service)s is inactive.")),
                     "remove": (subscriptions.remove, _l("%(service)s is removed; it ends today."))}
        if operation not in functions:
            abort(404)
        function, message = functions[operation]

        def run(session, account):
            owned = session.get(Subscription, subscription_id)
            if owned is None or owned.account_id != account.id:
                raise ValidationError("subscription_id", "is not a service of this account")
            subscription = function(session, subscription_id)
            return str(message) % {"service": subscription.service.name}
        return self._act(account_id, None, run)

    @expose("/<int:account_id>/tariff", methods=("POST",))
    @needs("services")
    def tariff(self, account_id: int):
        form = TariffForm(prefix="tariff")
        with manager_session() as session:
            form.tariff_id.choices = options(session.execute(select(Tariff.id, Tariff.name)))

        def run(session, account):
            change = accounts.change_tariff(session, account.id, form.tariff_id.data,
                                            on=form.on.data)
            name = session.get(Tariff, change.new_tariff_id).name
            if change.done_at is not None:
                return _("%(login)s is on tariff %(tariff)s from today.", login=account.login,
                         tariff=name)
            return _("%(login)s moves to tariff %(tariff)s on %(day)s.", login=account.login,
                     tariff=name, day=change.effective_on)
        return self._act(account_id, form, run)

    @expose("/<int:account_id>/payment", methods=("POST",))
    @needs("payments:create")
    def payment(self, account_id: int):
        form = without_needless_confirm(PaymentForm(prefix="payment"))

        def run(session, account):
            check_confirmed(session, to_money(typed(form.amount, decimal=True), "amount",
                                              allow_zero=False), confirmed(form))
            result = payments.record_payment(
                session, account.contract_id, typed(form.amount, decimal=True),
                source="manual", external_id=form.key.data or None,
                comment=form.comment.data or None)
            session.refresh(account.contract)
            if not result.created:
                return _("This payment was recorded before; nothing was added twice.")
            return _("Payment of %(amount)s %(currency)s recorded on contract %(number)s. "
                     "Balance: %(balance)s.", amount=money(result.payment.amount),
                     currency=account.contract.operator.currency,
                     number=account.contract.number, balance=money(account.contract.balance))
        return self._act(account_id, form, run)

    @expose("/<int:account_id>/cabinet-password", methods=("POST",))
    @needs("edit")
    def cabinet_password(self, account_id: int):
        """Set or reset the subscriber's password of the cabinet (/my/); their cabinet
        sessions end."""
        form = CabinetPasswordForm(prefix="cabinet")

        def run(session, account):
            cabinet.set_password(session, account.id, form.password.data)
            return _("%(login)s: the cabinet password is set.", login=account.login)
        return self._act(account_id, form, run)

    @expose("/<int:account_id>/trash", methods=("POST",))
    @needs("delete")
    def trash(self, account_id: int):
        def run(session, account):
            if accounts.trash_account(session, account.id):
                return _("%(login)s is in the trash; it can be restored.", login=account.login)
            return _("%(login)s was already in the trash.", login=account.login)
        return self._act(account_id, None, run)

    @expose("/<int:account_id>/restore", methods=("POST",))
    @needs("delete")
    def restore(self, account_id: int):
        def run(session, account):
            if accounts.restore_account(session, account.id):
                return _("%(login)s is restored from the trash.", login=account.login)
            return _("%(login)s was not in the trash.", login=account.login)
        return self._act(account_id, None, run)

    @expose("/<int:account_id>/sync", methods=("POST",))
    @needs("sync")
    def sync(self, account_id: int):
        with manager_session() as session:
            _account(session, account_id)
        results = synchronise(account_id)
        with manager_session() as session:
            audit(session, "sync", "account", account_id, {
                r["plugin"]: r.get("error") or {"drift": len(r.get("drift", [])),
                                                 "fixed": sum(bool(d.get("fixed"))
                                                              for d in r.get("drift", []))}
                for r in results})
        fixed = sum(1 for r in results for d in r.get("drift", []) if d.get("fixed"))
        found = sum(len(r.get("drift", [])) for r in results)
        failed = sum(1 for r in results if "error" in r)
        flash(_("Synchronised with %(n)s plugin(s): %(found)s difference(s) found, %(fixed)s "
                "fixed, %(failed)s plugin(s) failed.", n=len(results), found=found, fixed=fixed,
                failed=failed), "warning" if failed or found > fixed else "success")
        return self._card(account_id, sync_results=results)
