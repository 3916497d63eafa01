"""The API's request and response bodies (marshmallow), from which the OpenAPI document
is generated. Requests are checked here only for shape (types, unknown fields); what a
value may be is checked by core/services, so the API refuses exactly what the admin does.
Money is a decimal string ("100.00"), never a float.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from core.services.inputs import MAX_KEY
from core.state import MANUAL_SOURCES

MONEY_PATTERN = r"^-?\d+(\.\d+)?$"


class Money(fields.Field):
    """An amount: a decimal string in answers; a string or a whole/decimal number in
    requests, handed to core.money as it came (it refuses more places than money has)."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("metadata", {})
        kwargs["metadata"] = {"type": "string", "pattern": MONEY_PATTERN, "example": "100.00",
                              **kwargs["metadata"]}
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
            raise ValidationError("must be a decimal amount such as \"100.00\"")
        return str(value)


def Moment(description: str = "", **kwargs: Any) -> fields.String:
    """A date and time in a request, ISO 8601 with its offset; parsed by core/services."""
    return fields.String(metadata={"format": "date-time", "description": description}, **kwargs)


def Day(description: str = "", **kwargs: Any) -> fields.String:
    """A day in a request, YYYY-MM-DD; parsed by core/services."""
    return fields.String(metadata={"format": "date", "description": description}, **kwargs)


def Id(**kwargs: Any) -> fields.Integer:
    """A record's id to filter by: one no key column holds is refused (422), not sent
    to the database."""
    return fields.Integer(validate=validate.Range(1, MAX_KEY), **kwargs)


class Flag(fields.Boolean):
    """true or false in a body: not 0, 1, "yes" or "on", which marshmallow's Boolean
    takes (and 0.0, which equals 0)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def nullable(field_class, **kwargs):
    """A field that may be null (JSON null, documented as nullable)."""
    return field_class(allow_none=True, **kwargs)


class Error(Schema):
    field = fields.String(allow_none=True, required=True,
                          metadata={"description": "the input refused (dotted when nested)"})
    message = fields.String(required=True)


class Errors(Schema):
    errors = fields.List(fields.Nested(Error), required=True)


class PageQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    after = fields.String(metadata={"description": "the `next` cursor of the page before"})
    sort = fields.String(load_default="id", validate=validate.OneOf(["id", "-id"]),
                         metadata={"description": "id: oldest first; -id: newest first"})


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The schema of a page of `item`s: the rows and the cursor of the next page."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item), required=True),
        "next": fields.String(allow_none=True, required=True,
                              metadata={"description": "pass as `after`; null: the last page"}),
    }, name=name)


# --- subscribers and contracts ------------------------------------------------------------

class Address(Schema):
    kind = fields.String(metadata={"example": "postal"})
    text = fields.String(required=True)


class SubscriberIn(Schema):
    name = fields.String(required=True)
    kind = fields.String(validate=validate.OneOf(["person", "company"]))
    phones = fields.List(fields.String())
    email = nullable(fields.String)
    addresses = fields.List(fields.Nested(Address))
    tax_id = nullable(fields.String)
    comment = nullable(fields.String)


class SubscriberChange(SubscriberIn):
    name = fields.String()


class SubscriberOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    name = fields.String(required=True)
    phones = fields.Function(lambda s: [p.number for p in s.phones],
                             metadata={"type": "array", "items": {"type": "string"}})
    email = nullable(fields.String)
    addresses = fields.List(fields.Nested(Address))
    tax_id = nullable(fields.String)
    comment = nullable(fields.String)
    created_at = fields.DateTime(required=True)


class SubscriberQuery(PageQuery):
    name = fields.String(metadata={"description": "part of the name, any case"})


class ContractIn(Schema):
    subscriber_id = fields.Integer(required=True)
    number = fields.String(metadata={"description": "default: the operator's number plan"})
    credit_limit = Money()
    do_not_block = Flag()
    grace_days = nullable(fields.Integer)
    grace_amount = nullable(Money)


class ContractOut(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    subscriber_id = fields.Integer(required=True)
    operator_id = fields.Integer(required=True)
    balance = Money(required=True)
    credit_limit = Money(required=True)
    do_not_block = fields.Boolean(required=True)
    grace_days = nullable(fields.Integer)
    grace_amount = nullable(Money)
    created_at = fields.DateTime(required=True)


class ContractQuery(PageQuery):
    subscriber_id = Id()
    number = fields.String()


class StatementQuery(Schema):
    first = Day("the first day", data_key="from", required=True)
    last = Day("the last day (inclusive)", data_key="to", required=True)


class StatementEntry(Schema):
    at = fields.DateTime(required=True)
    kind = fields.String(required=True)
    description = fields.String(required=True)
    charge = nullable(Money)
    payment = nullable(Money)
    balance = Money(required=True)
    reference = fields.String(required=True)


class StatementOut(Schema):
    contract_id = fields.Integer(required=True)
    number = fields.String(required=True)
    currency = fields.String(required=True)
    first_day = fields.Date(required=True)
    last_day = fields.Date(required=True)
    opening = Money(required=True)
    closing = Money(required=True)
    charged = Money(required=True)
    paid = Money(required=True)
    entries = fields.List(fields.Nested(StatementEntry), required=True)


# --- accounts, blocks, tariffs ------------------------------------------------------------

class AccountIn(Schema):
    contract_id = fields.Integer(required=True)
    login = fields.String(required=True)
    agent_id = fields.Integer(required=True)
    tariff_id = fields.Integer(required=True)
    fields_ = fields.Dict(data_key="fields", metadata={
        "description": "the agent type's extra fields (a plugin's: IP, MAC, device…)"})
    start_on = Day("the base services' first day (default: today)")


class AccountOut(Schema):
    id = fields.Integer(required=True)
    contract_id = fields.Integer(required=True)
    login = fields.String(required=True)
    agent_id = fields.Integer(required=True)
    agent_type = fields.String(attribute="agent.type", required=True)
    tariff_id = fields.Integer(required=True)
    ext_id = nullable(fields.String)
    fields_ = fields.Dict(data_key="fields", attribute="fields", required=True)
    state = fields.String(required=True, metadata={
        "description": "active, or the strongest open block: balance, admin, voluntary, "
                       "disabled"})
    trashed = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


class AccountQuery(PageQuery):
    contract_id = Id()
    login = fields.String()
    agent_id = Id()
    tariff_id = Id()


class BlockIn(Schema):
    source = fields.String(required=True, validate=validate.OneOf(list(MANUAL_SOURCES)))
    start_at = Moment("default: now")
    end_at = Moment("default: until lifted")
    reason = fields.String()


class LiftIn(Schema):
    reason = fields.String()


class BlockOut(Schema):
    id = fields.Integer(required=True)
    account_id = fields.Integer(required=True)
    source = fields.String(required=True)
    start_at = fields.DateTime(required=True)
    end_at = nullable(fields.DateTime)
    applied_at = nullable(fields.DateTime)
    lifted_at = nullable(fields.DateTime)
    reason = nullable(fields.String)
    created_by = fields.String(required=True)


class TariffService(Schema):
    id = fields.Integer(attribute="service.id", required=True)
    name = fields.String(attribute="service.name", required=True)
    kind = fields.String(attribute="service.kind", required=True)
    price = Money(attribute="service.price", required=True)
    is_base = fields.Boolean(required=True)


class TariffOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = nullable(fields.String)
    self_service = fields.Boolean(required=True)
    archived = fields.Boolean(required=True)
    services = fields.List(fields.Nested(TariffService), attribute="items", required=True)


# --- money --------------------------------------------------------------------------------

class PaymentIn(Schema):
    contract_id = fields.Integer(metadata={"description": "the contract, or its number"})
    contract_number = fields.String()
    amount = Money(required=True)
    external_id = fields.String(metadata={
        "description": "your payment's id: the same one again is the same payment (200)"})
    source = fields.String(load_default="api", metadata={
        "description": "whose ids external_id are (a terminal network, a bank)"})
    received_at = Moment()
    comment = fields.String()


class ReverseIn(Schema):
    reason = fields.String(required=True)


class PaymentOut(Schema):
    id = fields.Integer(required=True)
    contract_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    amount = Money(required=True)
    source = fields.String(required=True)
    external_id = fields.String(required=True)
    received_at = fields.DateTime(required=True)
    comment = nullable(fields.String)
    reverses_id = nullable(fields.Integer)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class PaymentQuery(PageQuery):
    contract_id = Id()
    source = fields.String()
    external_id = fields.String()


class ChargeOut(Schema):
    id = fields.Integer(required=True)
    contract_id = fields.Integer(required=True)
    account_id = nullable(fields.Integer)
    service_id = nullable(fields.Integer)
    kind = fields.String(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    quantity = nullable(Money)
    amount = Money(required=True)
    comment = nullable(fields.String)
    invoice_id = nullable(fields.Integer)
    created_at = fields.DateTime(required=True)


class ChargeQuery(PageQuery):
    contract_id = Id()
    account_id = Id()
