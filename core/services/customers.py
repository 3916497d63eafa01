"""Subscribers (person or company cards) and their contracts (money accounts)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import audit, diff
from core.clock import today
from core.errors import Duplicate, NotFound, ValidationError
from core.models import Contract, NumberPlan, Operator, Phone, Subscriber
from core.money import money
from core.numbering import next_number
from core.services import inputs

EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
SUBSCRIBER_FIELDS = ("name", "kind", "phones", "email", "addresses", "tax_id", "comment")
CONTRACT_TERMS = ("credit_limit", "do_not_block", "grace_days", "grace_amount")
#: the longest grace period (days a balance may stay below the limit before a block)
MAX_GRACE_DAYS = 365
#: the most phones and addresses one subscriber may have (a card, not a phone book)
MAX_PHONES = MAX_ADDRESSES = 10


def default_operator(session: Session) -> Operator:
    operator = session.scalars(select(Operator).order_by(Operator.id).limit(1)).first()
    if operator is None:
        raise NotFound("operator_id", "no operator is set up yet (run `abonent demo load` "
                                      "or create one in the admin)")
    return operator


def _phones(values: Iterable[Any] | None) -> list[str]:
    result: list[str] = []
    for i, value in enumerate(inputs.items(values, "phones", most=MAX_PHONES)):
        number = inputs.phone(value, f"phones.{i}")
        if number not in result:
            result.append(number)
    return result


def _addresses(values: Iterable[Any] | None) -> list[dict[str, str]]:
    result = []
    for i, value in enumerate(inputs.items(values, "addresses", most=MAX_ADDRESSES)):
        if isinstance(value, str):
            value = {"kind": "postal", "text": value}
        if not isinstance(value, dict):
            raise ValidationError(f"addresses.{i}", "must be text or {kind, text}")
        kind = inputs.text(value.get("kind", "postal"), f"addresses.{i}.kind", max_len=30)
        result.append({"kind": kind, "text": inputs.text(value.get("text"),
                                                         f"addresses.{i}.text", max_len=500)})
    return result


def _subscriber_values(data: dict[str, Any], partial: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if not partial or "name" in data:
        values["name"] = inputs.text(data.get("name"), "name", max_len=300)
    if not partial or "kind" in data:
        kind = data.get("kind") or "person"
        if kind not in ("person", "company"):
            raise ValidationError("kind", "must be person or company")
        values["kind"] = kind
    if "email" in data or not partial:
        values["email"] = inputs.text(data.get("email"), "email", required=False,
                                      pattern=EMAIL, what="is not an e-mail address")
    for key in ("tax_id", "comment"):
        if key in data or not partial:
            values[key] = inputs.text(data.get(key), key, required=False,
                                      max_len=40 if key == "tax_id" else 1000)
    if "addresses" in data or not partial:
        values["addresses"] = _addresses(data.get("addresses"))
    return values


def create_subscriber(session: Session, **data: Any) -> Subscriber:
    """name (required), kind person|company, phones, email, addresses, tax_id, comment."""
    inputs.only(data, SUBSCRIBER_FIELDS)
    values = _subscriber_values(data, partial=False)
    subscriber = Subscriber(**values)
    subscriber.phones = [Phone(number=n) for n in _phones(data.get("phones"))]
    session.add(subscriber)
    session.flush()
    audit(session, "create", "subscriber", subscriber.id,
          {**values, "phones": [p.number for p in subscriber.phones]})
    return subscriber


def update_subscriber(session: Session, subscriber_id: int, **data: Any) -> Subscriber:
    subscriber = inputs.fetch(session, Subscriber, subscriber_id, "subscriber_id")
    values = _subscriber_values(data, partial=True)
    old = {k: getattr(subscriber, k) for k in values}
    for key, value in values.items():
        setattr(subscriber, key, value)
    changes = diff(old, values)
    if "phones" in data:
        old_phones = [p.number for p in subscriber.phones]
        new_phones = _phones(data["phones"])
        keep = {p.number: p for p in subscriber.phones}
        subscriber.phones = [keep.get(n) or Phone(number=n) for n in new_phones]
        changes.update(diff({"phones": old_phones}, {"phones": new_phones}))
    session.flush()
    if changes:
        audit(session, "update", "subscriber", subscriber.id, changes)
    return subscriber


def _contract_terms(data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "credit_limit" in data:
        values["credit_limit"] = money(data["credit_limit"], "credit_limit")
    if "do_not_block" in data:
        values["do_not_block"] = inputs.boolean(data["do_not_block"], "do_not_block")
    if "grace_days" in data:
        value = data["grace_days"]
        values["grace_days"] = (None if value is None else
                                inputs.integer(value, "grace_days", high=MAX_GRACE_DAYS))
    if "grace_amount" in data:
        value = data["grace_amount"]
        values["grace_amount"] = None if value is None else money(value, "grace_amount")
    return values


def create_contract(session: Session, subscriber_id: int, *, number: str | None = None,
                    operator_id: int | None = None, **terms: Any) -> Contract:
    """A contract for a subscriber; `number` is taken from the operator's contract number
    plan when not given. Terms: credit_limit, do_not_block, grace_days, grace_amount."""
    inputs.only(terms, CONTRACT_TERMS)
    subscriber = inputs.fetch(session, Subscriber, subscriber_id, "subscriber_id")
    operator = (inputs.fetch(session, Operator, operator_id, "operator_id")
                if operator_id is not None else default_operator(session))
    values = {"credit_limit": Decimal("0"), **_contract_terms(terms)}
    if number is None:
        if operator.contract_plan_id is None:
            raise ValidationError("number", "is required (the operator has no contract number plan)")
        plan = session.get(NumberPlan, operator.contract_plan_id)
        number = next_number(session, plan, today(operator.timezone))
    number = inputs.text(number, "number", max_len=50)
    if session.scalar(select(Contract.id).where(Contract.number == number)):
        raise Duplicate("number", f"contract {number} already exists")
    contract = Contract(number=number, subscriber=subscriber, operator=operator, **values)
    session.add(contract)
    session.flush()
    audit(session, "create", "contract", contract.id, {"number": number, **values})
    return contract


def update_contract(session: Session, contract_id: int, **terms: Any) -> Contract:
    inputs.only(terms, CONTRACT_TERMS)
    contract = inputs.fetch(session, Contract, contract_id, "contract_id")
    values = _contract_terms(terms)
    old = {k: getattr(contract, k) for k in values}
    for key, value in values.items():
        setattr(contract, key, value)
    session.flush()
    changes = diff(old, values)
    if changes:
        audit(session, "update", "contract", contract.id, changes)
    return contract


def find_contract(session: Session, value: Any, field: str = "contract") -> Contract:
    """A contract by id (int) or by number (text); NotFound naming `field` otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return inputs.fetch(session, Contract, value, field)
    number = inputs.text(value, field, max_len=50)
    contract = session.scalars(select(Contract).where(Contract.number == number)).first()
    if contract is None:
        raise NotFound(field, f"no contract numbered {number}")
    return contract
