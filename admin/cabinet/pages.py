"""The cabinet's pages and the subscriber's actions.

Every page reads the logged-in account (admin.cabinet.login's gate put its id in
`g.cabinet`); every action runs one core.services.cabinet function in a transaction
whose actor is the subscriber, then comes back to the page saying what happened, or
which input was refused and why (nothing is changed by a refused action: its
transaction rolls back).
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Optional

from admin.db import runtime
from admin.formatting import STATE_TITLES
from admin.forms import reason, typed
from admin.headers import document_policy
from admin.views.card import plugin_panels
from core import documents, statements
from core.charging import InsufficientFunds, month_bounds
from core.errors import ValidationError
from core.models import Account, Invoice, Tariff
from core.services import cabinet, promises
from core.services.dates import local_today
from core.state import effective_state, open_blocks

log = logging.getLogger("abonent.cabinet")
INVOICES = 24


class ActionForm(FlaskForm):
    """A button: only its CSRF token."""


class PromiseForm(FlaskForm):
    amount = StringField(_l("Amount"), validators=[DataRequired()],
                         render_kw={"inputmode": "decimal"})


class BlockForm(FlaskForm):
    first = DateField(_l("From"), validators=[Optional()])
    last = DateField(_l("Until (inclusive; empty: until I switch it off)"),
                     validators=[Optional()])


class TariffForm(FlaskForm):
    tariff_id = SelectField(_l("New tariff"), coerce=int, validators=[DataRequired()])


def _session():
    return runtime().session(actor=cabinet.actor(g.cabinet[1]))


def _account(session) -> Account:
    return session.get(Account, g.cabinet[0])


def _panels(session, account: Account) -> list[dict]:
    panels = plugin_panels(session, account, "abonent_cabinet_panel")
    for panel in panels:
        if "error" in panel:
            log.error("cabinet panel of %s failed: %s", panel["plugin"], panel.pop("error"))
            panel["unavailable"] = True
    return panels


def home():
    with _session() as session:
        account = _account(session)
        tariff_form = TariffForm(formdata=None)
        tariff_form.tariff_id.choices = [
            (t.id, t.name) for t in cabinet.self_service_tariffs(session, account)]
        live = cabinet.live_subscriptions(session, account)
        connected = {s.service_id for s in live}
        today = local_today(account)
        planned = cabinet.planned_change(session, account)
        return render_template(
            "cabinet/home.html", account=account, contract=account.contract,
            state=effective_state(b.source for b in open_blocks(session, account.id)),
            state_titles=STATE_TITLES, subscriptions=live,
            addons=[s for s in cabinet.addons(session, account) if s.id not in connected],
            promise=promises.open_promise(session, account.contract_id),
            blocks=cabinet.voluntary_blocks(session, account),
            planned=planned,
            planned_name=planned and session.get(Tariff, planned.new_tariff_id).name,
            next_period=cabinet.next_period(account), panels=_panels(session, account),
            action=ActionForm(), promise_form=PromiseForm(formdata=None),
            block_form=BlockForm(formdata=None, first=today), tariff_form=tariff_form,
            rules=runtime().settings.section("cabinet"),
            promise_rules=runtime().settings.section("money"))


def _act(form: FlaskForm, action):
    """Run `action(session, account)` as the subscriber; flash its message or the
    refusal, and come back to the cabinet's page."""
    if not form.validate_on_submit():
        for name, errors in form.errors.items():
            label = form[name].label.text if name in form else name
            flash(_("Refused — %(field)s: %(reason)s", field=label,
                    reason="; ".join(map(str, errors))), "error")
        return redirect(url_for("cabinet.home"))
    try:
        with _session() as session:
            message = action(session, _account(session))
    except InsufficientFunds as exc:
        flash(_("Not enough money: %(reason)s. Nothing was changed: top up the balance or "
                "take a promised payment first.", reason=exc.reason), "error")
    except ValidationError as exc:
        label = form[exc.field].label.text if exc.field in form else exc.field
        flash(_("Refused — %(field)s: %(reason)s", field=label, reason=reason(exc)), "error")
    else:
        flash(message, "success")
    return redirect(url_for("cabinet.home"))


def connect(service_id: int):
    def run(session, account):
        subscription = cabinet.connect(session, account, service_id)
        return _("%(service)s is connected.", service=subscription.service.name)
    return _act(ActionForm(), run)


def disconnect(subscription_id: int):
    def run(session, account):
        subscription = cabinet.disconnect(session, account, subscription_id)
        return _("%(service)s is disconnected; the unused days are refunded.",
                 service=subscription.service.name)
    return _act(ActionForm(), run)


def promise():
    form = PromiseForm()

    def run(session, account):
        given = cabinet.take_promise(session, account, typed(form.amount, decimal=True))
        return _("A promised payment of %(amount)s is on your balance until %(until)s.",
                 amount=given.amount, until=given.until)
    return _act(form, run)


def block():
    form = BlockForm()

    def run(session, account):
        cabinet.block(session, account, form.first.data, form.last.data)
        if form.last.data:
            return _("Voluntary block from %(first)s to %(last)s inclusive.",
                     first=form.first.data or local_today(account), last=form.last.data)
        return _("Voluntary block from %(first)s until you switch it off.",
                 first=form.first.data or local_today(account))
    return _act(form, run)


def unblock():
    def run(session, account):
        cabinet.unblock(session, account)
        return _("The voluntary block is off.")
    return _act(ActionForm(), run)


def tariff():
    form = TariffForm()
    with _session() as session:
        form.tariff_id.choices = [
            (t.id, t.name) for t in cabinet.self_service_tariffs(session, _account(session))]

    def run(session, account):
        change = cabinet.change_tariff(session, account, form.tariff_id.data)
        return _("You move to tariff %(tariff)s on %(day)s.",
                 tariff=dict(form.tariff_id.choices)[change.new_tariff_id],
                 day=change.effective_on)
    return _act(form, run)


def statement():
    """The statement of a period (default: this month so far), with a printable copy."""
    try:
        with _session() as session:
            account = _account(session)
            today = local_today(account)
            first = request.args.get("from") or month_bounds(today)[0].isoformat()
            last = request.args.get("to") or today.isoformat()
            first_day, last_day = statements.check_period(first, last, today)
            built = statements.build(session, account.contract_id, first_day, last_day)
            if request.args.get("print"):
                document = statements.render_html(session, built)
                return Response(document, mimetype="text/html", headers={
                    "Content-Security-Policy": document_policy(document)})
    except ValidationError as exc:
        flash(_("Refused — %(field)s: %(reason)s", field=exc.field, reason=reason(exc)),
              "error")
        return redirect(url_for("cabinet.statement"))
    return render_template("cabinet/statement.html", statement=built, first=first_day,
                           last=last_day)


def invoices():
    with _session() as session:
        account = _account(session)
        rows = list(session.scalars(select(Invoice).where(
            Invoice.contract_id == account.contract_id)
            .order_by(Invoice.period_start.desc()).limit(INVOICES)))
        return render_template("cabinet/invoices.html", invoices=rows)


def invoice(invoice_id: int):
    """A printable invoice of the subscriber's own contract (another's is not found)."""
    with _session() as session:
        found = session.get(Invoice, invoice_id)
        if found is None or found.contract_id != _account(session).contract_id:
            abort(404)
        document = documents.render_html(session, invoice_id)
    return Response(document, mimetype="text/html",
                    headers={"Content-Security-Policy": document_policy(document)})


def refused_form(exc: CSRFError):
    return render_template("cabinet/error.html", message=_(
        "The form was sent without its security token, or the token is stale. Reload the "
        "page and send it again.")), 400


def register(bp: Blueprint) -> None:
    bp.register_error_handler(CSRFError, refused_form)
    bp.add_url_rule("/", "home", home)
    bp.add_url_rule("/statement", "statement", statement)
    bp.add_url_rule("/invoices", "invoices", invoices)
    bp.add_url_rule("/invoices/<int:invoice_id>", "invoice", invoice)
    for rule, endpoint, view in (
            ("/connect/<int:service_id>", "connect", connect),
            ("/disconnect/<int:subscription_id>", "disconnect", disconnect),
            ("/promise", "promise", promise), ("/block", "block", block),
            ("/unblock", "unblock", unblock), ("/tariff", "tariff", tariff)):
        bp.add_url_rule(rule, endpoint, view, methods=("POST",))
