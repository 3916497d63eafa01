"""Subscribers and contracts: lists with lookup, forms through core.services.customers,
and the subscriber's and the contract's pages."""
from __future__ import annotations

import re

from flask import abort, request, url_for
from flask_admin import expose
from flask_admin.form import BaseForm
from flask_admin.helpers import get_form_data
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired

from admin import search
from admin.formatting import localtime, money, signed_money
from admin.forms import options, typed
from admin.views.base import ServiceModelView, key
from admin.views.listing import AgentFilter, BalanceBelow, ListTotals, money_sums, row_options
from core.models import Account, Agent, Charge, Contract, Payment, Subscriber
from core.services import customers
from core.state import states_of

RECENT = 15


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in re.split(r"[\n;]", text or "") if line.strip()]


def _phones(text: str | None) -> list[str]:
    return [p.strip() for p in re.split(r"[\n,;]", text or "") if p.strip()]


def _link(endpoint: str, text, **values) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url_for(endpoint, **values), text)


class SubscriberForm(BaseForm):
    kind = SelectField(_l("Kind"), choices=options([("person", _l("person")),
                                                   ("company", _l("company"))]))
    name = StringField(_l("Name"), validators=[InputRequired()])
    phones = TextAreaField(_l("Phones"), description=_l("One per line; any separators."))
    email = StringField(_l("E-mail"))
    addresses = TextAreaField(_l("Addresses"), description=_l("One per line."))
    tax_id = StringField(_l("Tax id"))
    comment = TextAreaField(_l("Comment"))


class SubscriberView(ServiceModelView):
    area = "subscribers"
    allow_create = allow_edit = True
    form = SubscriberForm
    column_list = ("id", "name", "kind", "phones", "email", "created_at")
    column_labels = {"id": "#", "name": _l("Name"), "kind": _l("Kind"), "phones": _l("Phones"),
                     "email": _l("E-mail"), "created_at": _l("Created")}
    column_sortable_list = ("id", "name")
    column_default_sort = ("id", True)
    column_searchable_list = ("name",)
    column_formatters = {
        "name": lambda v, c, m, n: _link("subscriber.card", m.name, subscriber_id=m.id),
        "phones": lambda v, c, m, n: ", ".join(p.number for p in m.phones),
        "kind": lambda v, c, m, n: _(m.kind),
    }

    def search_placeholder(self):
        return _("Name, phone, contract, login")

    def search_filter(self, term):
        return self.matching(Subscriber.id, search.subscriber_ids(term))

    def get_query(self):
        return super().get_query().options(selectinload(Subscriber.phones))

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if request.method == "GET" and obj is not None:
            form.phones.data = "\n".join(p.number for p in obj.phones)
            form.addresses.data = "\n".join(a["text"] for a in obj.addresses or [])
        return form

    def _data(self, form) -> dict:
        return {"name": form.name.data, "kind": form.kind.data, "phones": _phones(form.phones.data),
                "email": form.email.data or None, "addresses": _lines(form.addresses.data),
                "tax_id": form.tax_id.data or None, "comment": form.comment.data or None}

    def create_with(self, form):
        return customers.create_subscriber(self.session, **self._data(form))

    def update_with(self, form, model):
        return customers.update_subscriber(self.session, model.id, **self._data(form))

    def get_save_return_url(self, model, is_created=False):
        return url_for("subscriber.card", subscriber_id=model.id)

    @expose("/card/<int:subscriber_id>")
    def card(self, subscriber_id: int):
        subscriber = self.session.get(Subscriber, subscriber_id)
        if subscriber is None:
            abort(404, description=_("There is no subscriber %(id)s.", id=subscriber_id))
        contracts = list(self.session.scalars(
            select(Contract).where(Contract.subscriber_id == subscriber.id)
            .options(selectinload(Contract.accounts).joinedload(Account.tariff))
            .order_by(Contract.id)))
        ids = [a.id for c in contracts for a in c.accounts]
        return self.render("abonent/subscriber.html", subscriber=subscriber, contracts=contracts,
                           states=states_of(self.session, ids))


class ContractForm(BaseForm):
    subscriber_id = HiddenField()
    number = StringField(_l("Number"), description=_l("Leave empty to take the next number of the "
                                                      "operator's contract plan."))
    credit_limit = StringField(_l("Credit limit"), default="0")
    do_not_block = BooleanField(_l("Never block for balance"))
    grace_days = StringField(_l("Grace days"), description=_l("Empty: the operator's."))
    grace_amount = StringField(_l("Grace amount"), description=_l("Empty: the operator's."))


class ContractEditForm(ContractForm):
    subscriber_id = None
    number = None


class ContractView(ListTotals, ServiceModelView):
    """Contracts: the list with its totals (balance, debt), filters on debt and agent,
    sorting by balance and dates, the CSV export; forms through core.services.customers."""

    area = "contracts"
    allow_create = allow_edit = True
    form = ContractForm
    create_template = "abonent/contract_create.html"
    column_list = ("number", "subscriber", "balance", "credit_limit", "do_not_block", "created_at")
    column_labels = {"number": _l("Number"), "subscriber": _l("Subscriber"),
                     "balance": _l("Balance"), "credit_limit": _l("Credit limit"),
                     "do_not_block": _l("Never blocked"), "created_at": _l("Created")}
    column_sortable_list = ("number", "balance", "created_at")
    column_default_sort = ("id", True)
    column_searchable_list = ("number",)
    column_filters = (BalanceBelow(Contract.balance, _l("Balance")),
                      AgentFilter(Contract.id, _l("Agent"), options=row_options(Agent)))
    column_formatters_export = {
        "number": lambda v, c, m, n: m.number,
        "subscriber": lambda v, c, m, n: m.subscriber.name,
        "created_at": lambda v, c, m, n: localtime(m.created_at),
    }
    error_aliases = {"subscriber_id": "subscriber_id"}
    column_formatters = {
        "number": lambda v, c, m, n: _link("contract.card", m.number, contract_id=m.id),
        "subscriber": lambda v, c, m, n: _link("subscriber.card", m.subscriber.name,
                                               subscriber_id=m.subscriber_id),
        "balance": lambda v, c, m, n: signed_money(m.balance),
        "credit_limit": lambda v, c, m, n: money(m.credit_limit),
        "created_at": lambda v, c, m, n: localtime(m.created_at),
    }

    def totals(self, filtered):
        return money_sums(filtered, Contract.balance)

    def search_placeholder(self):
        return _("Number, name, phone, login")

    def search_filter(self, term):
        return self.matching(Contract.id, search.contract_ids(term))

    def get_query(self):
        return super().get_query().options(joinedload(Contract.subscriber))

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            form.subscriber_id.data = request.args.get("subscriber_id", "")
        return form

    def edit_form(self, obj=None):
        return ContractEditForm(get_form_data(), obj=obj)

    def render(self, template, **kwargs):
        """The create form says whose contract it makes."""
        form = kwargs.get("form")
        if template == self.create_template and form is not None:
            subscriber_id = key(form.subscriber_id.data)
            kwargs["subscriber"] = (self.session.get(Subscriber, subscriber_id)
                                    if subscriber_id is not None else None)
        return super().render(template, **kwargs)

    @staticmethod
    def _terms(form) -> dict:
        return {"credit_limit": typed(form.credit_limit, decimal=True) or "0",
                "do_not_block": bool(form.do_not_block.data),
                "grace_days": typed(form.grace_days) or None,
                "grace_amount": typed(form.grace_amount, decimal=True) or None}

    def create_with(self, form):
        return customers.create_contract(self.session, form.subscriber_id.data or None,
                                         number=typed(form.number) or None, **self._terms(form))

    def update_with(self, form, model):
        return customers.update_contract(self.session, model.id, **self._terms(form))

    def get_save_return_url(self, model, is_created=False):
        return url_for("contract.card", contract_id=model.id)

    @expose("/card/<int:contract_id>")
    def card(self, contract_id: int):
        contract = self.session.get(Contract, contract_id)
        if contract is None:
            abort(404, description=_("There is no contract %(id)s.", id=contract_id))
        accounts = list(self.session.scalars(select(Account).where(
            Account.contract_id == contract.id).options(joinedload(Account.tariff))
            .order_by(Account.id)))
        return self.render(
            "abonent/contract.html", contract=contract, accounts=accounts,
            states=states_of(self.session, [a.id for a in accounts]),
            payments=list(self.session.scalars(select(Payment).where(
                Payment.contract_id == contract.id).order_by(Payment.id.desc()).limit(RECENT))),
            charges=list(self.session.scalars(select(Charge).where(
                Charge.contract_id == contract.id).order_by(Charge.id.desc()).limit(RECENT))))
