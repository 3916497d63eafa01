"""Bodies of the catalog's services, an account's subscriptions, usage records and
invoices (see api.schemas for the conventions: money and measured values are decimal
strings; what a value may be is checked by core/services, not here)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import Day, Flag, Id, Money, PageQuery, nullable
from core.models.account import SUBSCRIPTION_STATES
from core.models.catalog import SERVICE_KINDS

USAGE_STATES = ("pending", "rated", "rejected")


def Quantity(metadata: dict | None = None, **kwargs) -> Money:
    """A measured quantity (up to 6 decimal places), a decimal string like money."""
    return Money(metadata={"example": "2.5", "description": "up to 6 decimal places",
                           **(metadata or {})}, **kwargs)


# --- services and subscriptions ------------------------------------------------------------

class ServiceOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": list(SERVICE_KINDS)})
    method = nullable(fields.String, metadata={"description": "periodic: daily or monthly"})
    price = Money(required=True)
    price_per_unit = nullable(Quantity, metadata={"description": "counter: per unit"})
    unit_id = nullable(fields.Integer)
    sensor_type_id = nullable(fields.Integer)
    agent_type = nullable(fields.String)
    external_code = nullable(fields.String)
    archived = fields.Boolean(required=True)


class ServiceQuery(PageQuery):
    kind = fields.String(validate=validate.OneOf(SERVICE_KINDS))
    archived = fields.Boolean()


class SubscriptionIn(Schema):
    service_id = fields.Integer(required=True)
    start_on = Day("the first day (default: today)")
    end_on = Day("the last day, inclusive (default: until removed)")
    active = Flag(metadata={"description": "false: assigned, not yet active"})
    purchase = Flag(metadata={
        "description": "charge the current period at once, as the cabinet's Connect does "
                       "(refused if the contract cannot pay it; start_on, end_on and active "
                       "do not apply)"})


class SubscriptionChange(Schema):
    active = Flag(required=True, metadata={"description": "activate or deactivate"})


class SubscriptionOut(Schema):
    id = fields.Integer(required=True)
    account_id = fields.Integer(required=True)
    service_id = fields.Integer(required=True)
    service_name = fields.String(attribute="service.name", required=True)
    state = fields.String(required=True, metadata={"enum": list(SUBSCRIPTION_STATES)})
    is_base = fields.Boolean(required=True)
    start_on = fields.Date(required=True)
    end_on = nullable(fields.Date)
    ended_at = nullable(fields.DateTime)
    end_reason = nullable(fields.String)
    created_at = fields.DateTime(required=True)


class SubscriptionQuery(PageQuery):
    state = fields.String(validate=validate.OneOf(SUBSCRIPTION_STATES))


# --- usage ------------------------------------------------------------------------------------

class UsageIn(Schema):
    key = fields.String(required=True, metadata={
        "description": "your record's id: the same key again with the same body is the same "
                       "record (200); with another body it is refused (409)"})
    ext_id = fields.String(required=True, metadata={"description": "the account's ext_id"})
    sensor_type = fields.Raw(required=True, metadata={
        "description": "the sensor type's id or name (sensor_1)",
        "oneOf": [{"type": "integer"}, {"type": "string"}]})
    unit_id = nullable(fields.Integer, metadata={"description": "any unit if omitted"})
    value = Quantity(required=True)
    day = Day("the day of the usage (default: the operator's today)")
    source = fields.String(load_default="api", metadata={"description": "who measured it"})


class UsageOut(Schema):
    id = fields.Integer(required=True)
    key = fields.String(required=True)
    source = fields.String(required=True)
    ext_id = fields.String(required=True)
    unit_id = nullable(fields.Integer)
    sensor_type_id = nullable(fields.Integer)
    value = Quantity(required=True)
    day = fields.Date(required=True)
    state = fields.String(required=True, metadata={"enum": list(USAGE_STATES)})
    reason = nullable(fields.String, metadata={"description": "why it was rejected"})
    account_id = nullable(fields.Integer)
    subscription_id = nullable(fields.Integer)
    charge_id = nullable(fields.Integer, metadata={"description": "the charge it made"})
    created_at = fields.DateTime(required=True)


class UsageQuery(PageQuery):
    account_id = Id()
    ext_id = fields.String()
    service_id = Id(metadata={"description": "rated on a subscription to it"})
    state = fields.String(validate=validate.OneOf(USAGE_STATES))
    source = fields.String()
    first = Day("from this day", data_key="from")
    last = Day("to this day (inclusive)", data_key="to")


# --- invoices ---------------------------------------------------------------------------------

class InvoiceLineOut(Schema):
    position = fields.Integer(required=True)
    description = fields.String(required=True)
    service_id = nullable(fields.Integer)
    source = fields.String(required=True, metadata={"description": "core, or the plugin's"})
    quantity = Quantity(required=True)
    unit = nullable(fields.String)
    net = Money(required=True)
    vat_rate = Quantity(required=True)
    vat = Money(required=True)
    gross = Money(required=True)


class InvoiceOut(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    contract_id = fields.Integer(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    currency = fields.String(required=True)
    net = Money(required=True)
    vat = Money(required=True)
    gross = Money(required=True)
    issued_at = fields.DateTime(required=True)
    lines = fields.List(fields.Nested(InvoiceLineOut), required=True)


class InvoiceQuery(PageQuery):
    contract_id = Id()
    period = fields.String(metadata={"description": "the month, YYYY-MM"})
    number = fields.String()


class DocumentQuery(Schema):
    kind = fields.String(load_default="invoice", validate=validate.OneOf(["invoice", "act"]),
                         metadata={"description": "the invoice, or the act of services rendered"})
