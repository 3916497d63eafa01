"""Accounts (with the extra fields their agent type declares), and the lists of
subscriptions and blocks. Accounts are created and changed through
core.services.accounts; everything else about an account happens on its card."""
from __future__ import annotations

from flask import g, request, url_for
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual
from flask_admin.form import BaseForm
from flask_admin.helpers import get_form_data
from flask_admin.model.filters import BaseBooleanFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import InputRequired, Optional

from admin import search
from admin.db import runtime
from admin.formatting import STATE_TITLES, localtime, signed_money, state_badge
from admin.forms import declared_data, options, with_declared
from admin.views.base import GuardedModelView, KeyFilter, ServiceModelView, key
from admin.views.bulk import BulkActions
from admin.views.listing import (BalanceBelow, ListTotals, StateFilter, accounts_on_contracts,
                                 money_sums, row_options)
from core.models import Account, Agent, Block, Contract, Service, Subscription, Tariff
from core.services import accounts
from core.state import PRECEDENCE, states_of


def _card_link(account: Account, text=None) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url_for("card.show", account_id=account.id),
                                                text or account.login)


class TrashFilter(BaseSQLAFilter, BaseBooleanFilter):
    """In the trash: yes (1) or no (0); other values are ignored as invalid."""

    def apply(self, query, value, alias=None):
        trashed = Account.trashed_at.is_not(None)
        return query.filter(trashed if value == "1" else ~trashed)

    def operation(self):
        return _l("is")


class AccountForm(BaseForm):
    contract_id = HiddenField()
    login = StringField(_l("Login"), validators=[InputRequired()])
    agent_id = SelectField(_l("Agent"), coerce=int)
    tariff_id = SelectField(_l("Tariff"), coerce=int)
    start_on = DateField(_l("Services from"), validators=[Optional()],
                         description=_l("Empty: today."))


class AccountEditForm(AccountForm):
    contract_id = None
    tariff_id = None
    start_on = None


class AccountView(ListTotals, BulkActions, ServiceModelView):
    """Accounts: the list with its totals (the balances of the listed accounts'
    contracts, each contract once), filters on state, debt, tariff and agent, sorting by
    balance and dates, the CSV export, bulk actions on the ticked rows (admin.views.bulk);
    forms through core.services.accounts."""

    area = "accounts"
    allow_create = allow_edit = True
    form = AccountForm
    create_template = "abonent/account_form.html"
    edit_template = "abonent/account_form.html"
    form_widget_args = {"agent_id": {"data-reload": "agent_id"}}
    column_list = ("login", "subscriber", "contract", "tariff", "agent", "state", "balance",
                   "created_at")
    column_labels = {"login": _l("Login"), "subscriber": _l("Subscriber"),
                     "contract": _l("Contract"), "tariff": _l("Tariff"), "agent": _l("Agent"),
                     "state": _l("State"), "balance": _l("Balance"), "created_at": _l("Created")}
    column_sortable_list = ("login", ("balance", "contract.balance"), "created_at")
    column_default_sort = ("id", True)
    column_searchable_list = ("login",)
    column_filters = (
        StateFilter(Account.id, _l("State"), options=[
            (state, STATE_TITLES[state]) for state in ("active", *PRECEDENCE, "trash")]),
        BalanceBelow(Account.contract_id, _l("Balance"), contracts=accounts_on_contracts),
        KeyFilter(Account.tariff_id, _l("Tariff"), options=row_options(Tariff)),
        KeyFilter(Account.agent_id, _l("Agent"), options=row_options(Agent)),
        TrashFilter(Account.trashed_at, _l("In the trash"), options=[("0", _l("no")),
                                                                     ("1", _l("yes"))]),
    )
    column_formatters = {
        "login": lambda v, c, m, n: _card_link(m),
        "subscriber": lambda v, c, m, n: m.contract.subscriber.name,
        "contract": lambda v, c, m, n: m.contract.number,
        "tariff": lambda v, c, m, n: m.tariff.name,
        "agent": lambda v, c, m, n: m.agent.name,
        "state": lambda v, c, m, n: state_badge(
            "trash" if m.trashed else g.get("account_states", {}).get(m.id, "active")),
        "balance": lambda v, c, m, n: signed_money(m.contract.balance),
        "created_at": lambda v, c, m, n: localtime(m.created_at),
    }
    column_formatters_export = {
        "login": lambda v, c, m, n: m.login,
        "subscriber": lambda v, c, m, n: m.contract.subscriber.name,
        "contract": lambda v, c, m, n: m.contract.number,
        "tariff": lambda v, c, m, n: m.tariff.name,
        "agent": lambda v, c, m, n: m.agent.name,
        "state": lambda v, c, m, n: "trash" if m.trashed else g.account_states[m.id],
        "balance": lambda v, c, m, n: m.contract.balance,
        "created_at": lambda v, c, m, n: localtime(m.created_at),
    }
    error_aliases = {"contract_id": "contract_id", "agent": "agent_id", "tariff": "tariff_id"}

    def totals(self, filtered):
        contracts = filtered.with_entities(Account.contract_id).scalar_subquery()
        return money_sums(self.session.query(Contract).filter(Contract.id.in_(contracts)),
                          Contract.balance)

    def search_placeholder(self):
        return _("Login, phone, contract, name")

    def search_filter(self, term):
        return self.matching(Account.id, search.account_ids(term))

    def get_query(self):
        return super().get_query().options(
            joinedload(Account.contract).joinedload(Contract.subscriber),
            joinedload(Account.tariff), joinedload(Account.agent))

    def prepare_rows(self, session, rows):
        g.account_states = states_of(session, [a.id for a in rows])

    # --- forms: the chosen agent's type decides the extra inputs ---------------------

    def _agent(self, model: Account | None) -> Agent | None:
        agent_id = key(request.form.get("agent_id") or request.args.get("agent_id"))
        if agent_id is not None:
            agent = self.session.get(Agent, agent_id)
            if agent is not None:
                return agent
        if model is not None:
            return model.agent
        return self.session.scalars(select(Agent).where(Agent.enabled.is_(True))
                                    .order_by(Agent.id)).first()

    def _declared(self, agent: Agent | None):
        agent_type = runtime().agent_types.get(agent.type) if agent is not None else None
        return agent_type.account_fields if agent_type is not None else ()

    def _build(self, base, model: Account | None):
        agent = self._agent(model)
        values = None
        if model is not None:
            values = {**(model.fields or {}), "ext_id": model.ext_id}
        form = with_declared(base, self._declared(agent), "fields", values)(
            get_form_data(), obj=model)
        form.agent_id.choices = options((a.id, a.name) for a in self.session.scalars(
            select(Agent).where(Agent.enabled.is_(True)).order_by(Agent.name)))
        if agent is not None:
            form.agent_id.data = agent.id
        if "tariff_id" in form:
            form.tariff_id.choices = options((t.id, t.name) for t in self.session.scalars(
                select(Tariff).where(Tariff.archived.is_(False)).order_by(Tariff.name)))
        if request.method == "GET" and model is None:
            form.contract_id.data = request.args.get("contract_id", "")
            form.login.data = request.args.get("login", "")
            if key(request.args.get("tariff_id")) is not None:
                form.tariff_id.data = key(request.args["tariff_id"])
        g.account_agent = agent
        return form

    def create_form(self, obj=None):
        return self._build(AccountForm, None)

    def edit_form(self, obj=None):
        return self._build(AccountEditForm, obj)

    def render(self, template, **kwargs):
        """The form says on which contract the account is made."""
        form = kwargs.get("form")
        if template == self.create_template and form is not None and "contract_id" in form:
            contract_id = key(form.contract_id.data)
            kwargs["contract"] = (self.session.get(Contract, contract_id)
                                  if contract_id is not None else None)
        return super().render(template, **kwargs)

    def create_with(self, form):
        fields = declared_data(form, self._declared(g.account_agent), "fields")
        return accounts.create_account(
            self.session, form.contract_id.data or None, login=form.login.data,
            agent_id=form.agent_id.data, tariff_id=form.tariff_id.data, fields=fields,
            start_on=form.start_on.data)

    def update_with(self, form, model):
        previous = {**(model.fields or {}), "ext_id": model.ext_id}
        fields = declared_data(form, self._declared(g.account_agent), "fields", previous)
        return accounts.change_account(self.session, model.id, login=form.login.data,
                                       agent_id=form.agent_id.data, fields=fields)

    def get_save_return_url(self, model, is_created=False):
        return url_for("card.show", account_id=model.id)


class SubscriptionView(GuardedModelView):
    """Assigned services across accounts (changed on the account card)."""

    area = "accounts"
    column_list = ("account", "service", "state", "is_base", "start_on", "end_on", "end_reason")
    column_labels = {"account": _l("Account"), "service": _l("Service"), "state": _l("State"),
                     "is_base": _l("Base"), "start_on": _l("From"), "end_on": _l("Until"),
                     "end_reason": _l("Ended because")}
    column_sortable_list = ()
    column_default_sort = ("id", True)
    column_searchable_list = ("state",)
    column_filters = (
        FilterEqual(Subscription.state, _l("State"),
                    options=[(s, _l(s)) for s in ("active", "inactive", "ended")]),
        KeyFilter(Subscription.service_id, _l("Service"), options=row_options(Service)),
    )
    column_formatters = {
        "account": lambda v, c, m, n: _card_link(m.account),
        "service": lambda v, c, m, n: m.service.name,
        "state": lambda v, c, m, n: _(m.state),
    }

    def search_placeholder(self):
        return _("Account login, phone, contract")

    def search_filter(self, term):
        return self.matching(Subscription.account_id, search.account_ids(term))

    def get_query(self):
        return super().get_query().options(joinedload(Subscription.account))


class BlockView(GuardedModelView):
    """Blocks across accounts, open and lifted (set and lifted on the account card)."""

    area = "accounts"
    column_list = ("account", "source", "start_at", "end_at", "lifted_at", "reason", "created_by")
    column_labels = {"account": _l("Account"), "source": _l("Reason"), "start_at": _l("From"),
                     "end_at": _l("Until"), "lifted_at": _l("Lifted"), "reason": _l("Note"),
                     "created_by": _l("By")}
    column_sortable_list = ()
    column_default_sort = ("id", True)
    column_searchable_list = ("source",)
    column_filters = (
        FilterEqual(Block.source, _l("Reason"),
                    options=[(s, _l(s)) for s in ("balance", "admin", "voluntary", "disabled")]),
    )
    column_formatters = {
        "account": lambda v, c, m, n: _card_link(m.account),
        "source": lambda v, c, m, n: _(m.source),
        "start_at": lambda v, c, m, n: localtime(m.start_at),
        "end_at": lambda v, c, m, n: localtime(m.end_at),
        "lifted_at": lambda v, c, m, n: localtime(m.lifted_at),
    }

    def search_placeholder(self):
        return _("Account login, phone, contract")

    def search_filter(self, term):
        return self.matching(Block.account_id, search.account_ids(term))

    def get_query(self):
        return super().get_query().options(joinedload(Block.account))
