"""Money: payments (recorded through core.services.payments), charges, usage records and
invoices (issued by core.invoicing; CSV from core.documents, the printed and PDF documents
and their e-mail in admin.views.invoice_documents)."""
from __future__ import annotations

import uuid
from decimal import Decimal

from flask import Response, abort, flash, g, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import InputRequired, Optional

from admin import search
from admin.db import actor, manager_session, runtime
from admin.formatting import localtime, money
from admin.forms import typed
from admin.views.base import GuardedModelView, ModelForm, ServiceModelView, log, needs
from admin.views.listing import AgentFilter, ListTotals, row_options
from admin.views.invoice_documents import InvoiceDocuments, documents_cell
from core.documents import render_csv
from core.errors import ValidationError
from core.invoicing import invoice_period, parse_period
from core.models import Agent, Charge, Contract, Invoice, Payment, UsageRecord
from core.models.ledger import CREDIT_KINDS, OPENING_KIND, UNDO_KINDS
from core.services import payments
from core.services.customers import find_contract


def _contract_link(contract_id: int, number: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url_for("contract.card", contract_id=contract_id),
                                                number)


def _account_link(account_id: int | None) -> Markup | str:
    if account_id is None:
        return ""
    return Markup('<a href="{}">#{}</a>').format(url_for("card.show", account_id=account_id),
                                                 account_id)


class PaymentForm(ModelForm):
    contract = StringField(_l("Contract number"), validators=[InputRequired()])
    amount = StringField(_l("Amount"), validators=[InputRequired()])
    comment = StringField(_l("Comment"))
    key = HiddenField()


class PaymentView(ListTotals, ServiceModelView):
    """Payments: the list with its total, filters on source, kind and agent, sorting
    by date and amount, the CSV export; recorded through core.services.payments."""

    area = "payments"
    allow_create = True
    form = PaymentForm
    column_list = ("received_at", "contract", "amount", "source", "external_id", "comment",
                   "created_by")
    column_labels = {"received_at": _l("Received"), "contract": _l("Contract"),
                     "amount": _l("Amount"), "source": _l("Source"),
                     "external_id": _l("External id"), "comment": _l("Comment"),
                     "created_by": _l("By")}
    column_sortable_list = ("received_at", "amount")
    column_default_sort = ("id", True)
    column_searchable_list = ("source",)
    column_filters = (
        FilterEqual(Payment.source, _l("Source")),
        FilterEqual(Payment.kind, _l("Kind"), options=[
            (kind, _l(kind)) for kind in (*CREDIT_KINDS, *UNDO_KINDS, OPENING_KIND)]),
        AgentFilter(Payment.contract_id, _l("Agent"), options=row_options(Agent)),
    )
    column_formatters = {
        "received_at": lambda v, c, m, n: localtime(m.received_at),
        "contract": lambda v, c, m, n: _contract_link(
            m.contract_id, g.get("contract_numbers", {}).get(m.contract_id, m.contract_id)),
        "amount": lambda v, c, m, n: money(m.amount),
    }
    column_formatters_export = {
        "received_at": lambda v, c, m, n: localtime(m.received_at),
        "contract": lambda v, c, m, n: g.contract_numbers.get(m.contract_id, m.contract_id),
    }

    def totals(self, filtered):
        total = filtered.with_entities(func.coalesce(func.sum(Payment.amount), 0)).scalar()
        return [(_("Amount"), Decimal(total))]

    def prepare_rows(self, session, rows):
        ids = {p.contract_id for p in rows}
        g.contract_numbers = dict(session.execute(
            select(Contract.id, Contract.number).where(Contract.id.in_(ids))).all()) if ids else {}

    def search_placeholder(self):
        return _("Contract number, name, phone, login")

    def search_filter(self, term):
        return self.matching(Payment.contract_id, search.contract_ids(term))

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            form.contract.data = request.args.get("contract", "")
            form.key.data = uuid.uuid4().hex
        return form

    def create_with(self, form):
        result = payments.record_payment(
            self.session, form.contract.data, (form.amount.data or "").strip().replace(",", "."),
            source="manual", external_id=form.key.data or None, comment=form.comment.data or None)
        contract = self.session.get(Contract, result.payment.contract_id)
        self.session.refresh(contract)
        if result.created:
            flash(_("Payment of %(amount)s recorded on contract %(number)s. Balance: %(balance)s.",
                    amount=money(result.payment.amount), number=contract.number,
                    balance=money(contract.balance)), "success")
        else:
            flash(_("This payment was recorded before; nothing was added twice."), "info")
        return result.payment

    def get_save_return_url(self, model, is_created=False):
        return request.args.get("url") or url_for("contract.card", contract_id=model.contract_id)


class ChargeView(GuardedModelView):
    area = "charges"
    column_list = ("created_at", "contract_id", "account_id", "service", "kind", "period_start",
                   "period_end", "quantity", "amount", "comment")
    column_labels = {"created_at": _l("Written"), "contract_id": _l("Contract"),
                     "account_id": _l("Account"), "service": _l("Service"), "kind": _l("Kind"),
                     "period_start": _l("From"), "period_end": _l("To"),
                     "quantity": _l("Quantity"), "amount": _l("Amount"), "comment": _l("Comment")}
    column_sortable_list = ()
    column_default_sort = ("id", True)
    column_searchable_list = ("kind",)
    column_filters = (FilterEqual(Charge.kind, _l("Kind"), options=[
        (k, _l(k)) for k in ("periodic", "one_time", "usage", "manual", "refund")]),)
    column_formatters = {
        "created_at": lambda v, c, m, n: localtime(m.created_at),
        "contract_id": lambda v, c, m, n: Markup('<a href="{}">#{}</a>').format(
            url_for("contract.card", contract_id=m.contract_id), m.contract_id),
        "account_id": lambda v, c, m, n: _account_link(m.account_id),
        "service": lambda v, c, m, n: m.service.name if m.service else "",
        "kind": lambda v, c, m, n: _(m.kind),
        "amount": lambda v, c, m, n: money(m.amount),
    }

    def search_placeholder(self):
        return _("Contract number, name, phone, login")

    def search_filter(self, term):
        return self.matching(Charge.contract_id, search.contract_ids(term))

    def get_query(self):
        return super().get_query().options(joinedload(Charge.service))


class UsageView(GuardedModelView):
    area = "usage"
    column_list = ("day", "source", "ext_id", "value", "unit_id", "sensor_type_id", "state",
                   "reason", "account_id", "charge_id")
    column_labels = {"day": _l("Day"), "source": _l("Source"), "ext_id": "ext_id",
                     "value": _l("Value"), "unit_id": _l("Unit"),
                     "sensor_type_id": _l("Sensor type"), "state": _l("State"),
                     "reason": _l("Why rejected"), "account_id": _l("Account"),
                     "charge_id": _l("Charge")}
    column_sortable_list = ()
    column_default_sort = ("id", True)
    column_searchable_list = ("ext_id",)
    column_filters = (
        FilterEqual(UsageRecord.state, _l("State"),
                    options=[(s, _l(s)) for s in ("pending", "rated", "rejected")]),
        FilterEqual(UsageRecord.source, _l("Source")),
    )
    column_formatters = {"account_id": lambda v, c, m, n: _account_link(m.account_id),
                         "state": lambda v, c, m, n: _(m.state)}

    def search_placeholder(self):
        return _("ext_id, or the account's login, phone, contract")

    def search_filter(self, term):
        return or_(UsageRecord.ext_id == term,
                   self.matching(UsageRecord.account_id, search.account_ids(term)))


class IssueForm(FlaskForm):
    period = StringField(_l("Month"), validators=[InputRequired()],
                         description=_l("YYYY-MM, e.g. 2026-10"))
    contract = StringField(_l("Only this contract (number)"), validators=[Optional()])
    dry_run = BooleanField(_l("Dry run: show what would be issued, change nothing"), default=True)
    close_early = BooleanField(_l("Close the month early (it has not ended yet)"))


class InvoiceView(InvoiceDocuments, GuardedModelView):
    area = "invoices"
    list_template = "abonent/invoice_list.html"
    column_list = ("number", "contract_id", "period_start", "period_end", "net", "vat", "gross",
                   "currency", "issued_at", "documents")
    column_labels = {"number": _l("Number"), "contract_id": _l("Contract"),
                     "period_start": _l("From"), "period_end": _l("To"), "net": _l("Net"),
                     "vat": _l("VAT"), "gross": _l("Total"), "currency": _l("Currency"),
                     "issued_at": _l("Issued"), "documents": _l("Documents")}
    column_sortable_list = ()
    column_default_sort = ("id", True)
    column_searchable_list = ("number",)
    column_formatters = {
        "contract_id": lambda v, c, m, n: Markup('<a href="{}">#{}</a>').format(
            url_for("contract.card", contract_id=m.contract_id), m.contract_id),
        "net": lambda v, c, m, n: money(m.net), "vat": lambda v, c, m, n: money(m.vat),
        "gross": lambda v, c, m, n: money(m.gross),
        "issued_at": lambda v, c, m, n: localtime(m.issued_at),
        "documents": documents_cell,
    }

    def search_placeholder(self):
        return _("Invoice or contract number")

    def search_filter(self, term):
        return or_(Invoice.number.startswith(term, autoescape=True),
                   self.matching(Invoice.contract_id, search.contract_ids(term)))

    def _invoice(self, invoice_id: int) -> Invoice:
        invoice = self.session.get(Invoice, invoice_id)
        if invoice is None:
            abort(404, description=_("There is no invoice %(id)s.", id=invoice_id))
        return invoice

    @expose("/csv/<int:invoice_id>")
    def csv(self, invoice_id: int):
        invoice = self._invoice(invoice_id)
        return Response(render_csv(self.session, invoice_id), mimetype="text/csv",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{invoice.number}.csv"'})

    @expose("/issue", methods=("GET", "POST"))
    @needs("create")
    def issue(self):
        """Issue (or preview) the invoices of a month, for every contract or one."""
        form = IssueForm()
        result = None
        if form.validate_on_submit():
            try:
                contract_id = None
                if form.contract.data:
                    with manager_session() as session:
                        contract_id = find_contract(session, typed(form.contract)).id
                result = invoice_period(runtime(), parse_period(typed(form.period)),
                                        contract_id=contract_id, dry_run=bool(form.dry_run.data),
                                        close_early=bool(form.close_early.data),
                                        actor=actor()).as_dict()
            except ValidationError as exc:
                target = {"period": form.period, "contract": form.contract,
                          "close_early": form.close_early}.get(
                    exc.field.split(".")[0], form.period)
                target.errors = [*target.errors, _(exc.reason)]
            except Exception as exc:  # a plugin's invoice lines failed: say so, no 500
                log.exception("invoicing %s failed", form.period.data)
                flash(_("Invoicing failed: %(error)s", error=f"{type(exc).__name__}: {exc}"),
                      "error")
            else:
                flash(_("Dry run: nothing was issued.") if form.dry_run.data
                      else _("Invoices issued."), "info" if form.dry_run.data else "success")
        return self.render("abonent/invoice_issue.html", form=form, result=result)
