"""The cabinet's "My requests" (HelpDesk) and the public connection request form.

A subscriber opens a request, reads its thread and answers, with files; they see only
their own contract's requests (another's is "not found") and never the managers'
internal notes or their files — core.helpdesk decides both, the pages only ask. The
public form at /my/join takes a request to be connected from someone who has no login
yet: CSRF like every form, and at most `[helpdesk] requests_per_hour` per client
address (answered 429 beyond it).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from admin.db import runtime
from admin.forms import reason
from admin.views.helpdesk import STATUS_TITLES, category_choices, download, uploaded
from core import helpdesk
from core.errors import ValidationError
from core.models import Account, TicketAttachment
from core.services import cabinet


class RequestForm(FlaskForm):
    category = SelectField(_l("Category"), validators=[DataRequired()])
    subject = StringField(_l("Subject"), validators=[DataRequired()])
    text = TextAreaField(_l("What happened?"), validators=[DataRequired()],
                         render_kw={"rows": 4})
    files = MultipleFileField(_l("Files (photos, PDF)"))


class AnswerForm(FlaskForm):
    text = TextAreaField(_l("Your answer"), validators=[DataRequired()], render_kw={"rows": 3})
    files = MultipleFileField(_l("Files (photos, PDF)"))


class JoinForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired()],
                       render_kw={"autocomplete": "name"})
    phone = StringField(_l("Phone"), validators=[DataRequired()],
                        render_kw={"autocomplete": "tel", "inputmode": "tel"})
    address = StringField(_l("Address to connect"), validators=[DataRequired()],
                          render_kw={"autocomplete": "street-address"})
    email = StringField(_l("E-mail (optional)"), validators=[Optional()],
                        render_kw={"autocomplete": "email", "inputmode": "email"})
    text = TextAreaField(_l("Anything else? (optional)"), validators=[Optional()],
                         render_kw={"rows": 3})


def _session():
    return runtime().session(actor=cabinet.actor(g.cabinet[1]))


def _refused(form: FlaskForm, exc: ValidationError) -> None:
    name = "files" if exc.field == "attachment" else exc.field
    label = form[name].label.text if name in form else exc.field
    if name in form:
        form[name].errors = [*form[name].errors, reason(exc)]
    flash(_("Refused — %(field)s: %(reason)s", field=label, reason=reason(exc)), "error")


def requests_page():
    form = RequestForm()
    with _session() as session:
        form.category.choices = category_choices(session)
    if form.validate_on_submit():
        try:
            with _session() as session:
                ticket = helpdesk.open_ticket(session, g.cabinet[0], form.category.data,
                                              form.subject.data, form.text.data,
                                              files=uploaded())
        except ValidationError as exc:
            _refused(form, exc)
        else:
            flash(_("Your request #%(id)s is sent. We answer here and by e-mail.",
                    id=ticket.id), "success")
            return redirect(url_for("cabinet.request", ticket_id=ticket.id))
    with _session() as session:
        tickets = helpdesk.tickets_of(session, session.get(Account, g.cabinet[0]))
        return render_template("cabinet/tickets.html", tickets=tickets, form=form,
                               status_titles=STATUS_TITLES)


def _ticket(session, ticket_id: int):
    try:
        return helpdesk.ticket_of(session, session.get(Account, g.cabinet[0]), ticket_id)
    except ValidationError:
        abort(404)


def request_page(ticket_id: int):
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            with _session() as session:
                helpdesk.comment(session, ticket_id, form.text.data, files=uploaded(),
                                 account=session.get(Account, g.cabinet[0]))
        except ValidationError as exc:
            if exc.field == "ticket_id":
                abort(404)
            _refused(form, exc)
        else:
            flash(_("Your answer is sent."), "success")
            return redirect(url_for("cabinet.request", ticket_id=ticket_id))
    with _session() as session:
        ticket = _ticket(session, ticket_id)
        return render_template("cabinet/ticket.html", ticket=ticket, form=form,
                               comments=helpdesk.thread(ticket, internal=False),
                               files=helpdesk.files(ticket, internal=False),
                               status_titles=STATUS_TITLES)


def request_file(attachment_id: int):
    with _session() as session:
        attachment = session.get(TicketAttachment, attachment_id)
        if attachment is None or attachment.internal:
            abort(404)
        _ticket(session, attachment.ticket_id)
        return download(attachment)


def join():
    """The public connection request form (no login)."""
    form = JoinForm()
    if form.validate_on_submit():
        address = request.remote_addr or "unknown"
        try:
            with runtime().session(actor=f"prospect:{address}") as session:
                helpdesk.open_connection_request(
                    session, name=form.name.data, phone=form.phone.data,
                    address=form.address.data, email=form.email.data or None,
                    text=form.text.data, source_address=address)
        except helpdesk.TooManyRequests as exc:
            flash(reason(exc), "error")
            return render_template("cabinet/join.html", form=form), 429
        except ValidationError as exc:
            _refused(form, exc)
        else:
            return render_template("cabinet/join.html", form=None)
    return render_template("cabinet/join.html", form=form)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/requests", "requests", requests_page, methods=("GET", "POST"))
    bp.add_url_rule("/requests/<int:ticket_id>", "request", request_page,
                    methods=("GET", "POST"))
    bp.add_url_rule("/requests/file/<int:attachment_id>", "request_file", request_file)
    bp.add_url_rule("/join", "join", join, methods=("GET", "POST"))
