"""Settings → Provider details and Document templates; Money → Mail log.

The provider's details (core.provider) and the templates of the invoice, the act and the
statement (core.doctemplates) are settings: reading them needs `settings:view`, changing
them `settings:edit`, and each change is audited by the core. A template is previewed
with a real contract's document before it is saved (in a tab of its own, as it prints);
a template that does not render is refused under its text with the line, never saved.
The mail log lists every e-mail queued (`invoices:view`) with the server's answer, and
the `[mail]` settings with the password masked; a document's mail is sent again from it
(`invoices:create`).
"""
from __future__ import annotations

from flask import Response, abort, flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import Optional

from admin.db import manager_session, runtime
from admin.formatting import localtime
from admin.forms import attach_error, flash_refused
from admin.headers import document_policy
from admin.views.base import GuardedModelView, GuardedView, needs
from core import doctemplates, mail, pdf
from core.config import SCHEMA
from core.documents import CONTEXT_HELP
from core.errors import ValidationError
from core.fields import mask_secrets
from core.models import Contract, MailMessage, Operator
from core.models.documents import DOCUMENT_KINDS
from core.provider import FIELDS, provider_of, save_provider
from core.statements import KIND_TITLES

KIND_NAMES = {"invoice": _l("Invoice"), "act": _l("Act of services rendered"),
              "statement": _l("Statement")}
PROVIDER_LABELS = {
    "name": _l("Name"), "tax_id": _l("Tax id (INN / NIP)"), "tax_reg": _l("KPP"),
    "address": _l("Address"), "bank_name": _l("Bank"), "bank_account": _l("Bank account"),
    "bic": _l("BIC / SWIFT"), "correspondent_account": _l("Correspondent account"),
    "phone": _l("Phone"), "email": _l("E-mail"),
}


class ProviderForm(FlaskForm):
    pass


for _name in FIELDS:
    setattr(ProviderForm, _name, StringField(PROVIDER_LABELS[_name], validators=[Optional()]))


class TemplateForm(FlaskForm):
    source = TextAreaField(_l("Template (Jinja, HTML)"), render_kw={"rows": 24,
                                                                    "spellcheck": "false"})
    contract = StringField(_l("Contract (number) for the preview"), validators=[Optional()])
    first = StringField(_l("Month (YYYY-MM) or first day"), validators=[Optional()])
    last = StringField(_l("Last day (statement)"), validators=[Optional()])


def _operator(session) -> Operator:
    operator = session.scalars(select(Operator).order_by(Operator.id)).first()
    if operator is None:
        abort(404, description=_("Set the operator up first (Settings → Operator)."))
    return operator


class ProviderView(GuardedView):
    area = "settings"

    @expose("/", methods=("GET", "POST"))
    @needs("view")
    def index(self):
        form = ProviderForm()
        if form.is_submitted() and not self.can("edit"):
            abort(403, description="settings:edit")
        with manager_session() as session:
            operator = _operator(session)
            if not form.is_submitted():
                form.process(data=vars(provider_of(session, operator)))
        if form.is_submitted():
            if form.validate_on_submit():
                try:
                    with manager_session() as session:
                        save_provider(session, operator.id,
                                      {name: form[name].data for name in FIELDS})
                except ValidationError as exc:
                    attach_error(form, exc)
                else:
                    flash(_("The provider's details were saved; documents print them."),
                          "success")
                    return redirect(url_for(".index"))
        return self.render("abonent/provider.html", form=form)


class TemplatesView(GuardedView):
    area = "settings"

    @expose("/")
    def index(self):
        with manager_session() as session:
            rows = [(kind, doctemplates.stored(session, kind)) for kind in DOCUMENT_KINDS]
        return self.render("abonent/templates.html", rows=rows, names=KIND_NAMES,
                           localtime=localtime)

    def _kind(self, kind: str) -> str:
        if kind not in DOCUMENT_KINDS:
            abort(404)
        return kind

    def _page(self, kind: str, form: TemplateForm):
        with manager_session() as session:
            edited = doctemplates.stored(session, kind)
        variables = ({"st": "number, subscriber, first_day, last_day, opening, closing, "
                            "charged, paid, currency, zone, entries (at, kind, description, "
                            "charge, payment, balance), totals, local(moment)",
                      "titles": ", ".join(KIND_TITLES)} if kind == "statement" else {})
        variables.update({k: v for k, v in CONTEXT_HELP.items()
                          if kind != "statement" or k not in ("invoice", "lines")})
        return self.render("abonent/template_edit.html", kind=kind, form=form, edited=edited,
                           name=KIND_NAMES[kind], variables=variables, localtime=localtime)

    @expose("/<kind>", methods=("GET", "POST"))
    @needs("view")
    def edit(self, kind: str):
        """GET: the template as it is; POST: save it once it renders (settings:edit)."""
        form = TemplateForm()
        if form.is_submitted() and not self.can("edit"):
            abort(403, description="settings:edit")
        kind = self._kind(kind)
        if not form.is_submitted():
            with manager_session() as session:
                edited = doctemplates.stored(session, kind)
            form.source.data = edited.source if edited else doctemplates.default_source(kind)
            return self._page(kind, form)
        if form.validate_on_submit():
            try:
                with manager_session() as session:
                    doctemplates.save(session, kind, form.source.data, pdf.sample_context(kind))
            except ValidationError as exc:
                attach_error(form, exc)
            else:
                flash(_("The template was saved: documents print with it from now on."),
                      "success")
                return redirect(url_for(".edit", kind=kind))
        return self._page(kind, form)

    @expose("/<kind>/preview", methods=("POST",))
    @needs("edit")
    def preview(self, kind: str):
        """The template as typed, rendered with the contract's real document; nothing is
        saved (but it is part of editing: settings:edit). Its own page, as it prints (its
        styles allowed by their hashes only)."""
        kind = self._kind(kind)
        form = TemplateForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            with manager_session() as session:
                page = pdf.preview(session, kind, form.source.data, form.contract.data,
                                   form.first.data, form.last.data)
        except ValidationError as exc:
            aliases = {"from": "first", "period": "first", "to": "last"}
            attach_error(form, exc, aliases)
            return self._page(kind, form)
        return Response(page, mimetype="text/html",
                        headers={"Content-Security-Policy": document_policy(page)})

    @expose("/<kind>/reset", methods=("POST",))
    @needs("edit")
    def reset(self, kind: str):
        kind = self._kind(kind)
        with manager_session() as session:
            done = doctemplates.reset(session, kind)
        flash(_("The shipped template is used again.") if done
              else _("The template was not edited."), "success" if done else "info")
        return redirect(url_for(".edit", kind=kind))


def _state(view, context, model, name):
    return Markup('<span class="mail-state mail-{}">{}</span>').format(model.state,
                                                                        _(model.state))


class MailLogView(GuardedModelView):
    area = "invoices"
    list_template = "abonent/mail_log.html"
    column_list = ("queued_at", "contract_id", "recipient", "subject", "document", "state",
                   "attempts", "server_reply", "sent_at", "queued_by")
    column_labels = {"queued_at": _l("Queued"), "contract_id": _l("Contract"),
                     "recipient": _l("To"), "subject": _l("Subject"),
                     "document": _l("Document"), "state": _l("State"),
                     "attempts": _l("Attempts"), "server_reply": _l("Server's answer"),
                     "sent_at": _l("Sent"), "queued_by": _l("By")}
    column_sortable_list = ()
    column_default_sort = ("id", True)
    column_searchable_list = ("recipient", "subject")
    column_filters = ("state", "document", "contract_id")
    column_formatters = {
        "queued_at": lambda v, c, m, n: localtime(m.queued_at),
        "sent_at": lambda v, c, m, n: localtime(m.sent_at) if m.sent_at else "",
        "contract_id": lambda v, c, m, n: Markup('<a href="{}">#{}</a>').format(
            url_for("contract.card", contract_id=m.contract_id), m.contract_id),
        "state": _state,
        "document": lambda v, c, m, n: KIND_NAMES.get(m.document, "") if m.document else "",
    }

    def render(self, template, **kwargs):
        config = runtime().settings.section("mail")
        kwargs["mail_settings"] = mask_secrets(SCHEMA["mail"], config)
        return super().render(template, **kwargs)

    @expose("/resend/<int:mail_id>", methods=("POST",))
    @needs("create")
    def resend(self, mail_id: int):
        """Queue the same document to the subscriber once more (a new row of the log)."""
        try:
            with manager_session() as session:
                sent = session.get(MailMessage, mail_id)
                if sent is None or sent.document is None:
                    abort(404)
                if sent.document == "statement":
                    queued = mail.queue_statement(session, session.get(Contract, sent.contract_id),
                                                  sent.first_day, sent.last_day, resend=True)
                else:
                    queued = mail.queue_invoice(session, sent.invoice_id, sent.document,
                                                resend=True)
                to = queued.mail.recipient
        except ValidationError as exc:
            flash_refused(exc)
        else:
            flash(_("Queued again to %(to)s.", to=to), "success")
        return redirect(url_for(".index_view"))

