"""Payments (taken once per external id, reversed) and charges (read)."""
from __future__ import annotations

from api.blueprint import ApiBlueprint, dumped, found, page, select_given, transaction
from api.schemas import (ChargeOut, ChargeQuery, PaymentIn, PaymentOut, PaymentQuery, ReverseIn,
                         page_of)
from core.errors import ValidationError
from core.models import Charge, Payment
from core.services.corrections import reverse_payment
from core.services.customers import find_contract
from core.services.payments import record_payment

blp = ApiBlueprint("money", "Payments and charges")


def _contract(session, data: dict) -> int:
    """The contract's id, given by id or by number (exactly one), refused naming the
    field the caller used."""
    given = [(name, data.pop(name)) for name in ("contract_id", "contract_number")
             if name in data]
    if len(given) != 1:
        raise ValidationError("contract_id", "give contract_id or contract_number (one)")
    name, value = given[0]
    return find_contract(session, value, name).id


@blp.route("/payments", methods=["GET"])
@blp.operation("payments:view", 422)
@blp.arguments(PaymentQuery, location="query")
@blp.response(200, page_of(PaymentOut, "PaymentPage"))
def list_payments(args):
    query = select_given(Payment, args, "contract_id", "source", "external_id")
    with transaction() as session:
        return page(session, query, Payment.id, args, PaymentOut())


@blp.route("/payments", methods=["POST"])
@blp.operation("payments:create", 422)
@blp.arguments(PaymentIn)
@blp.response(201, PaymentOut)
@blp.alt_response(200, schema=PaymentOut, success=True,
                  description="the same source and external_id again: the payment made then")
def post_payment(data):
    """Take a payment; `payment_received` goes to the plugins, a debt block is lifted."""
    with transaction(write=True) as session:
        result = record_payment(session, _contract(session, data), data.pop("amount"), **data)
        return dumped(PaymentOut(), result.payment, 201 if result.created else 200)


@blp.route("/payments/<int:payment_id>", methods=["GET"])
@blp.operation("payments:view", 404)
@blp.response(200, PaymentOut)
def get_payment(payment_id):
    with transaction() as session:
        return dumped(PaymentOut(), found(session, Payment, payment_id, "payment"))


@blp.route("/payments/<int:payment_id>/reverse", methods=["POST"])
@blp.operation("payments:reverse", 404, 422)
@blp.arguments(ReverseIn)
@blp.response(201, PaymentOut)
def post_reversal(data, payment_id):
    """Reverse a payment: a negative row naming it is the answer; the balance moves back."""
    with transaction(write=True) as session:
        found(session, Payment, payment_id, "payment")
        return dumped(PaymentOut(), reverse_payment(session, payment_id, data["reason"]), 201)


@blp.route("/charges", methods=["GET"])
@blp.operation("charges:view", 422)
@blp.arguments(ChargeQuery, location="query")
@blp.response(200, page_of(ChargeOut, "ChargePage"))
def list_charges(args):
    query = select_given(Charge, args, "contract_id", "account_id")
    with transaction() as session:
        return page(session, query, Charge.id, args, ChargeOut())
