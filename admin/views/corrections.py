"""Corrections of money on the account card: reverse a payment, a manual credit or
charge, a promised payment, equipment in instalments (core.services.corrections,
promises, instalments). Each is behind its own permission and asks before it posts;
above the operator's `[money] confirm_above` the form carries a "confirm" box, and an
amount above it posted without the box ticked is refused naming it."""
from __future__ import annotations

from flask import request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Optional

from admin.db import runtime
from admin.formatting import money
from admin.forms import typed
from admin.views.base import needs
from core.errors import ValidationError
from core.models import Payment
from core.services import corrections, instalments, promises


class CorrectionForm(FlaskForm):
    amount = StringField(_l("Amount"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired()])
    confirm = BooleanField(_l("Confirm a large amount"))


class PromiseForm(FlaskForm):
    amount = StringField(_l("Amount"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[Optional()])


class InstalmentForm(FlaskForm):
    title = StringField(_l("Equipment"), validators=[DataRequired()])
    price = StringField(_l("Price"), validators=[DataRequired()])
    months = StringField(_l("Months"), validators=[DataRequired()])
    confirm = BooleanField(_l("Confirm a large amount"))


def confirm_above():
    return runtime().settings.section("money")["confirm_above"]


def without_needless_confirm(form: FlaskForm) -> FlaskForm:
    """No "confirm" box when the operator set no threshold: nobody is asked."""
    if not confirm_above() and "confirm" in form:
        del form.confirm
    return form


def confirmed(form: FlaskForm) -> bool:
    return "confirm" in form and bool(form.confirm.data)


def money_forms() -> dict[str, FlaskForm]:
    """The card's empty forms of this module."""
    shown = {"formdata": None}
    return {"credit": without_needless_confirm(CorrectionForm(prefix="credit", **shown)),
            "charge": without_needless_confirm(CorrectionForm(prefix="charge", **shown)),
            "promise": PromiseForm(prefix="promise", **shown),
            "instalment": without_needless_confirm(InstalmentForm(prefix="instalment",
                                                                  **shown))}


def reversed_payments(session, contract_id: int) -> set[int]:
    """The contract's payments already reversed (the card offers no second reversal)."""
    return set(session.scalars(select(Payment.reverses_id).where(
        Payment.contract_id == contract_id, Payment.kind == "reversal")))


def _balance(session, account) -> str:
    session.refresh(account.contract)
    return f"{money(account.contract.balance)} {account.contract.operator.currency}"


class MoneyActions:
    """The card's routes for corrections (mixed into AccountCard, which has `_act`)."""

    @expose("/<int:account_id>/reverse/<int:payment_id>", methods=("POST",))
    @needs("payments:reverse")
    def reverse(self, account_id: int, payment_id: int):
        def run(session, account):
            owned = session.get(Payment, payment_id)
            if owned is None or owned.contract_id != account.contract_id:
                raise ValidationError("payment_id", "is not a payment of this contract")
            corrections.reverse_payment(session, payment_id, request.form.get("reason"))
            return _("Payment %(id)s reversed. Balance: %(balance)s.", id=payment_id,
                     balance=_balance(session, account))
        return self._act(account_id, None, run)

    @expose("/<int:account_id>/credit", methods=("POST",))
    @needs("payments:credit")
    def credit(self, account_id: int):
        return self._by_hand(account_id, "credit", corrections.manual_credit,
                             lambda balance: _("Credit recorded. Balance: %(balance)s.",
                                               balance=balance))

    @expose("/<int:account_id>/charge", methods=("POST",))
    @needs("charges:create")
    def charge(self, account_id: int):
        return self._by_hand(account_id, "charge", corrections.manual_charge,
                             lambda balance: _("Charge recorded. Balance: %(balance)s.",
                                               balance=balance))

    def _by_hand(self, account_id: int, prefix: str, record, done):
        """A manual credit or charge from its form: amount, reason, confirmation."""
        form = without_needless_confirm(CorrectionForm(prefix=prefix))

        def run(session, account):
            record(session, account.contract_id, typed(form.amount, decimal=True),
                   form.reason.data, confirmed=confirmed(form))
            return done(_balance(session, account))
        return self._act(account_id, form, run)

    @expose("/<int:account_id>/promise", methods=("POST",))
    @needs("payments:promise")
    def promise(self, account_id: int):
        form = PromiseForm(prefix="promise")

        def run(session, account):
            given = promises.give_promise(session, account.contract_id,
                                          typed(form.amount, decimal=True),
                                          reason=form.reason.data or None)
            return _("Promised payment of %(amount)s until %(day)s. Balance: %(balance)s.",
                     amount=money(given.amount), day=given.until,
                     balance=_balance(session, account))
        return self._act(account_id, form, run)

    @expose("/<int:account_id>/instalment", methods=("POST",))
    @needs("charges:create")
    def instalment(self, account_id: int):
        form = without_needless_confirm(InstalmentForm(prefix="instalment"))

        def run(session, account):
            plan = instalments.create_instalment(
                session, account.contract_id, form.title.data,
                typed(form.price, decimal=True), typed(form.months),
                confirmed=confirmed(form))
            return _("%(title)s in %(months)s monthly parts. Balance: %(balance)s.",
                     title=plan.title, months=plan.months, balance=_balance(session, account))
        return self._act(account_id, form, run)
