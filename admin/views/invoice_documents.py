"""The invoice list's documents: the invoice and the act printable and as PDF, one
invoice e-mailed, and a month's invoices e-mailed (core.mail through the outbox).

Sending needs `invoices:create`. A document already queued or sent to the subscriber's
address is not sent again unless the manager asks for it ("send again"); a subscriber
without an e-mail address is named in the answer, never skipped in silence.
"""
from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import InputRequired

from admin.db import actor, manager_session, runtime
from admin.forms import attach_error, flash_refused, options
from admin.headers import document_policy
from admin.views.base import needs
from core import documents, mail, pdf
from core.errors import ValidationError
from core.invoicing import parse_period
from core.models import Invoice


class SendForm(FlaskForm):
    period = StringField(_l("Month"), validators=[InputRequired()],
                         description=_l("YYYY-MM, e.g. 2026-10"))
    document = SelectField(_l("Document"), choices=options(
        [("invoice", _l("Invoice")), ("act", _l("Act of services rendered"))]))
    resend = BooleanField(_l("Send again what was already sent to the same address"))
    dry_run = BooleanField(_l("Dry run: show what would be sent, change nothing"), default=True)


def documents_cell(view, context, model, name) -> Markup:
    """Print / PDF of the invoice and the act, CSV, and the e-mail button."""
    links = Markup(" · ").join(
        Markup('<a href="{}" target="_blank">{}</a>').format(url, label) for url, label in (
            (url_for("invoice.printable", invoice_id=model.id), _("Print")),
            (url_for("invoice.pdf", invoice_id=model.id), "PDF"),
            (url_for("invoice.printable", invoice_id=model.id, kind="act"), _("Act")),
            (url_for("invoice.pdf", invoice_id=model.id, kind="act"), _("Act PDF")),
            (url_for("invoice.csv", invoice_id=model.id), "CSV")))
    if not current_user.can("invoices:create"):
        return links
    return links + Markup(
        ' <form method="post" action="{}" class="d-inline email-invoice" data-confirm="{}">'
        '<input type="hidden" name="csrf_token" value="{}">'
        '<button type="submit" class="btn btn-link btn-sm p-0">{}</button></form>').format(
        url_for("invoice.email", invoice_id=model.id),
        _("E-mail invoice %(number)s to the subscriber?", number=model.number),
        generate_csrf(), _("E-mail"))


def _kind() -> str:
    return "act" if request.args.get("kind") == "act" else "invoice"


class InvoiceDocuments:
    """Routes of the invoice list (mixed into InvoiceView, which has `_invoice`)."""

    def _rendered(self, invoice_id: int, make):
        self._invoice(invoice_id)
        try:
            return make(self.session, invoice_id, _kind())
        except ValidationError as exc:  # an edited template that fails on this invoice
            flash_refused(exc)
            return None

    @expose("/print/<int:invoice_id>")
    def printable(self, invoice_id: int):
        document = self._rendered(invoice_id, documents.render_html)
        if document is None:
            return redirect(url_for(".index_view"))
        return Response(document, mimetype="text/html",
                        headers={"Content-Security-Policy": document_policy(document)})

    @expose("/pdf/<int:invoice_id>")
    def pdf(self, invoice_id: int):
        data = self._rendered(invoice_id, pdf.invoice_pdf)
        if data is None:
            return redirect(url_for(".index_view"))
        name = f"{_kind()}-{self._invoice(invoice_id).number}.pdf"
        return Response(data, mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"'})

    @expose("/email/<int:invoice_id>", methods=("POST",))
    @needs("create")
    def email(self, invoice_id: int):
        try:
            with manager_session() as session:
                queued = mail.queue_invoice(session, invoice_id, _kind())
                to, new, at = queued.mail.recipient, queued.new, queued.mail.queued_at
        except ValidationError as exc:
            flash_refused(exc)
        else:
            if new:
                flash(_("Queued to %(to)s; the mail log shows when it is sent.", to=to),
                      "success")
            else:
                flash(_("Already queued or sent to %(to)s (%(when)s): nothing sent again. "
                        "The mail log sends it again on purpose.", to=to, when=at), "info")
        return redirect(request.referrer or url_for(".index_view"))

    @expose("/send", methods=("GET", "POST"))
    @needs("create")
    def send(self):
        """E-mail every invoice (or act) of a month; a dry run first by default."""
        form = SendForm()
        report = None
        if form.validate_on_submit():
            dry_run = bool(form.dry_run.data)
            try:
                with runtime().session(actor=actor(), commit=not dry_run) as session:
                    invoices = session.scalars(select(Invoice).where(
                        Invoice.period_start == parse_period(form.period.data))
                        .order_by(Invoice.id)).all()
                    report = mail.send_invoices(session, invoices, form.document.data,
                                                resend=bool(form.resend.data))
            except ValidationError as exc:
                attach_error(form, exc)
        return self.render("abonent/invoice_send.html", form=form, report=report,
                           dry_run=bool(form.dry_run.data))
