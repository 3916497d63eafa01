"""Bodies of the operations resources: the event outbox's deliveries (read, counted,
retried) and the scheduled jobs with their recorded runs."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import Id, PageQuery
from core.jobs import OUTCOMES, summary_of
from core.models.outbox import DELIVERY_STATES

RUN_STATES = ("running", *OUTCOMES)


class DeliveryOut(Schema):
    id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    event = fields.String(attribute="event.name", required=True,
                          metadata={"description": "the event's name (payment_received…)"})
    plugin = fields.String(required=True)
    account_id = fields.Integer(allow_none=True)
    contract_id = fields.Integer(allow_none=True)
    state = fields.String(required=True, metadata={"enum": list(DELIVERY_STATES)})
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(required=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(attribute="event.created_at", required=True)


class DeliveryQuery(PageQuery):
    state = fields.String(validate=validate.OneOf([*DELIVERY_STATES, "failing"]), metadata={
        "description": "failing: pending with at least one failed attempt"})
    plugin = fields.String()
    account_id = Id()


class PluginCounts(Schema):
    plugin = fields.String(required=True)
    pending = fields.Integer(required=True)
    failing = fields.Integer(required=True, metadata={"description": "pending, with an error"})
    dead = fields.Integer(required=True)
    done = fields.Integer(required=True)
    oldest_seconds = fields.Integer(required=True,
                                    metadata={"description": "age of the oldest pending"})
    per_minute = fields.Float(required=True,
                              metadata={"description": "delivered a minute, last 5 minutes"})


class RetryIn(Schema):
    delivery_ids = fields.List(Id(), validate=validate.Length(1, 500), metadata={
        "description": "these deliveries, whatever their state but done; else every one "
                       "in `state` (of `plugin`)"})
    state = fields.String(load_default="dead", validate=validate.OneOf(["dead", "failing"]),
                          metadata={"description": "failing: hurry the failing ones"})
    plugin = fields.String()


class RetryOut(Schema):
    queued = fields.Integer(required=True, metadata={"description": "deliveries queued again"})


class JobRunOut(Schema):
    id = fields.Integer(required=True)
    job_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(RUN_STATES)})
    trigger = fields.String(required=True, metadata={"description": "schedule, manual…"})
    started_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(allow_none=True)
    summary = fields.Function(summary_of, required=True, metadata={
        "type": "string", "description": "its error, or the job's one line"})
    result = fields.Dict(required=True)
    error = fields.String(allow_none=True)


class JobOut(Schema):
    id = fields.String(required=True)
    plugin = fields.String(required=True)
    description = fields.String(required=True)
    cron = fields.Dict(required=True, metadata={"description": "APScheduler cron fields, "
                                                              "in the operator's time zone"})
    last_run = fields.Nested(JobRunOut, allow_none=True, required=True)


class RunQuery(PageQuery):
    job_id = fields.String()
    status = fields.String(validate=validate.OneOf(RUN_STATES))
