"""HelpDesk in the admin: the queues, a ticket's page, a new ticket from the account card,
and a connection request turned into a subscriber.

Reading needs `helpdesk:view`; answering, assigning, changing the status and opening a
ticket need `helpdesk:work` (turning a request into a subscriber `subscribers:create`
too). Each action is one core.helpdesk call in a transaction in the manager's name (the
core writes the history and the audit log), then the ticket's page again, saying what
happened or which input was refused and why. Files are served as downloads with their
sniffed type and `nosniff`, so an attached file is never rendered as a page of ours.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from admin.db import manager_session, runtime
from admin.forms import attach_error, flash_refused, options
from admin.views.base import GuardedView, key, needs
from core import helpdesk
from core.errors import ValidationError
from core.models import Account, Manager, Subscriber, Ticket, TicketAttachment

STATUS_TITLES = {"new": _l("New"), "in_work": _l("In work"),
                 "waiting": _l("Waiting for the subscriber"), "closed": _l("Closed")}
QUEUES = {"new": _l("New"), "mine": _l("Mine"), "waiting": _l("Waiting"), "all": _l("All")}
KIND_TITLES = {"request": _l("Request"), "connection": _l("Connection request")}


class CommentForm(FlaskForm):
    text = TextAreaField(_l("Answer"), validators=[DataRequired()], render_kw={"rows": 4})
    internal = BooleanField(_l("Internal note (the subscriber does not see it)"))
    files = MultipleFileField(_l("Files"))


class AssignForm(FlaskForm):
    assignee_id = SelectField(_l("Assignee"), validators=[Optional()])


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=options(STATUS_TITLES.items()))


class TicketForm(FlaskForm):
    category = SelectField(_l("Category"), validators=[DataRequired()])
    subject = StringField(_l("Subject"), validators=[DataRequired()])
    text = TextAreaField(_l("Text"), validators=[DataRequired()], render_kw={"rows": 5})
    files = MultipleFileField(_l("Files"))


class ProspectForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired()])
    phone = StringField(_l("Phone"), validators=[Optional()])
    email = StringField(_l("E-mail"), validators=[Optional()])
    address = StringField(_l("Address"), validators=[Optional()])


def uploaded(field: str = "files") -> list[tuple[str, bytes]]:
    """The files of the request's `field`, each read at most one byte past the limit
    (enough for the core to refuse it as too large, never more into memory)."""
    limit = runtime().settings.section("helpdesk")["max_attachment_kb"] * 1024 + 1
    return [(f.filename or "", f.read(limit)) for f in request.files.getlist(field)
            if f and f.filename]


def category_choices(session) -> list:
    return options((c, _(c)) for c in helpdesk.categories(session))


def download(attachment: TicketAttachment) -> Response:
    """An attachment as a download: its sniffed type, never shown inline, never sniffed."""
    name = quote(attachment.filename)
    return Response(attachment.data, mimetype=attachment.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


def _names(session, tickets: list[Ticket]) -> dict[str, dict[int, str]]:
    ids = {t.subscriber_id for t in tickets if t.subscriber_id}
    return {"subscribers": dict(session.execute(select(Subscriber.id, Subscriber.name).where(
        Subscriber.id.in_(ids))).all()) if ids else {},
        "logins": dict(session.execute(select(Manager.id, Manager.login)).all())}


class HelpDeskView(GuardedView):
    area = "helpdesk"

    def _managers(self, session) -> list:
        return options([("", "—")] + [(str(i), f"{n} ({lg})") for i, lg, n in session.execute(
            select(Manager.id, Manager.login, Manager.name).where(Manager.active.is_(True))
            .order_by(Manager.login))])

    @expose("/")
    def index(self):
        queue = request.args.get("queue", "new")
        if queue not in QUEUES:
            queue = "all"
        status, category = request.args.get("status") or None, request.args.get("category")
        assignee = key(request.args.get("assignee")) if request.args.get("assignee") else None
        if queue == "new":
            status = status or "new"
        elif queue == "waiting":
            status = status or "waiting"
        elif queue == "mine":
            assignee = current_user.id
        with manager_session() as session:
            try:
                tickets = helpdesk.find(session, status=status, category=category,
                                        assignee_id=assignee, open_only=queue == "mine")
            except ValidationError as exc:
                flash_refused(exc)
                tickets = []
            return self.render("abonent/helpdesk_list.html", tickets=tickets, queue=queue,
                               queues=QUEUES, status=status, category=category,
                               assignee=assignee, status_titles=STATUS_TITLES,
                               categories=category_choices(session),
                               managers=self._managers(session), kind_titles=KIND_TITLES,
                               **_names(session, tickets))

    def _ticket(self, session, ticket_id: int) -> Ticket:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            abort(404, description=_("There is no ticket %(id)s.", id=ticket_id))
        return ticket

    @expose("/<int:ticket_id>")
    def show(self, ticket_id: int):
        with manager_session() as session:
            ticket = self._ticket(session, ticket_id)
            assign = AssignForm(formdata=None, assignee_id=str(ticket.assignee_id or ""))
            assign.assignee_id.choices = self._managers(session)
            return self.render(
                "abonent/helpdesk_ticket.html", ticket=ticket,
                account=ticket.account_id and session.get(Account, ticket.account_id),
                subscriber=ticket.subscriber_id and session.get(Subscriber,
                                                                ticket.subscriber_id),
                comments=helpdesk.thread(ticket, internal=True),
                files=helpdesk.files(ticket, internal=True),
                history=helpdesk.history(session, ticket.id),
                comment_form=CommentForm(formdata=None), assign_form=assign,
                status_form=StatusForm(formdata=None, status=ticket.status),
                status_titles=STATUS_TITLES, kind_titles=KIND_TITLES,
                **_names(session, [ticket]))

    def _act(self, ticket_id: int, form: FlaskForm, action, aliases: dict[str, str] | None = None):
        """Run `action(session)` as the manager; flash its message or the refusal."""
        if not form.validate_on_submit():
            for name, errors in form.errors.items():
                flash(_("Refused — %(field)s: %(reason)s", field=form[name].label.text,
                        reason="; ".join(map(str, errors))), "error")
        else:
            try:
                with manager_session() as session:
                    self._ticket(session, ticket_id)
                    message = action(session)
            except ValidationError as exc:
                attach_error(form, exc, aliases)
            else:
                flash(message, "success")
        return redirect(url_for(".show", ticket_id=ticket_id))

    @expose("/<int:ticket_id>/comment", methods=("POST",))
    @needs("work")
    def comment(self, ticket_id: int):
        form = CommentForm()

        def run(session):
            note = helpdesk.comment(session, ticket_id, form.text.data,
                                    internal=bool(form.internal.data), files=uploaded())
            return _("The internal note is added.") if note.internal else _(
                "The answer is added; the subscriber is told by e-mail if they have an "
                "address.")
        return self._act(ticket_id, form, run, {"attachment": "files"})

    @expose("/<int:ticket_id>/assign", methods=("POST",))
    @needs("work")
    def assign(self, ticket_id: int):
        form = AssignForm()
        with manager_session() as session:
            form.assignee_id.choices = self._managers(session)

        def run(session):
            ticket = helpdesk.assign(session, ticket_id, form.assignee_id.data or None)
            return _("Assigned to %(who)s.", who=ticket.assignee_id and session.get(
                Manager, ticket.assignee_id).login or _("nobody"))
        return self._act(ticket_id, form, run)

    @expose("/<int:ticket_id>/status", methods=("POST",))
    @needs("work")
    def status(self, ticket_id: int):
        form = StatusForm()

        def run(session):
            ticket = helpdesk.change_status(session, ticket_id, form.status.data)
            return _("Status: %(status)s.", status=STATUS_TITLES[ticket.status])
        return self._act(ticket_id, form, run)

    @expose("/file/<int:attachment_id>")
    def file(self, attachment_id: int):
        with manager_session() as session:
            attachment = session.get(TicketAttachment, attachment_id)
            if attachment is None:
                abort(404)
            return download(attachment)

    @expose("/new/<int:account_id>", methods=("GET", "POST"))
    @needs("work")
    def new(self, account_id: int):
        """A ticket about an account, opened by a manager (from the account card)."""
        form = TicketForm()
        with manager_session() as session:
            account = session.get(Account, account_id)
            if account is None:
                abort(404)
            form.category.choices = category_choices(session)
            login = account.login
        if form.validate_on_submit():
            try:
                with manager_session() as session:
                    ticket = helpdesk.open_ticket(session, account_id, form.category.data,
                                                  form.subject.data, form.text.data,
                                                  files=uploaded())
            except ValidationError as exc:
                attach_error(form, exc, {"attachment": "files"})
            else:
                flash(_("Ticket #%(id)s is opened.", id=ticket.id), "success")
                return redirect(url_for(".show", ticket_id=ticket.id))
        return self.render("abonent/helpdesk_new.html", form=form, login=login,
                           account_id=account_id)

    @expose("/<int:ticket_id>/subscriber", methods=("GET", "POST"))
    @needs("work")
    def convert(self, ticket_id: int):
        """The subscriber form filled in from a connection request; saving it makes the
        subscriber (core services) and closes the request."""
        if not self.can("subscribers:create"):
            abort(403, description="subscribers:create")
        with manager_session() as session:
            ticket = self._ticket(session, ticket_id)
            if ticket.kind != helpdesk.CONNECTION:
                abort(404)
            found: dict[str, Any] = helpdesk.prospect(ticket)
        form = ProspectForm(name=found["name"], phone=(found["phones"] or [""])[0],
                            email=found["email"], address=(found["addresses"] or [""])[0])
        if form.validate_on_submit():
            values = {"name": form.name.data, "email": form.email.data or None,
                      "phones": [form.phone.data] if form.phone.data else [],
                      "addresses": [form.address.data] if form.address.data else []}
            try:
                with manager_session() as session:
                    created = helpdesk.convert(session, ticket_id, **values)
            except ValidationError as exc:
                attach_error(form, exc, {"phones": "phone", "addresses": "address"})
            else:
                flash(_("Subscriber %(name)s is created; the request is closed.",
                        name=created.name), "success")
                return redirect(url_for("subscriber.card", subscriber_id=created.id))
        return self.render("abonent/helpdesk_convert.html", form=form, ticket_id=ticket_id)
