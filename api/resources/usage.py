"""Usage records: read, and written one at a time, idempotent by the caller's key.

A written record is rated by core.usage.record_usage, the path CDR files and the usage
plugins take (the same account match by ext_id, counter subscription, price and charge),
so there is no second rating here. The same key again with the same body is the record
made then (200, nothing charged twice); with another body it is refused (409 naming the
key): a key is one measurement. A record that was rejected (no account with the ext_id
yet…) is superseded by a record sent again with its key and rated afresh, as a
corrected CDR line is (core.usage explains why the rejected row stays).
"""
from __future__ import annotations

from sqlalchemy import select

from api.blueprint import ApiBlueprint, dumped, found, page, select_given, transaction
from api.errors import answer
from api.schemas import page_of
from api.schemas_billing import UsageIn, UsageOut, UsageQuery
from core.contributions import UsageDraft
from core.errors import ValidationError
from core.models import Subscription, UsageRecord
from core.money import RATE_PLACES, to_decimal
from core.services import inputs
from core.services.dates import operator_today, usage_window
from core.usage import KEY_MAX, find_sensor_type, record_usage

blp = ApiBlueprint("usage_records", "Usage records (measured quantities) and their rating")

#: what makes two records with one key the same measurement
SAME = ("source", "ext_id", "sensor_type_id", "unit_id", "value", "day")
#: record_usage names a draft's fields drafts[0].<name>; the body calls them so
_DRAFT_FIELD = "drafts[0]."


@blp.route("/usage", methods=["GET"])
@blp.operation("usage:view", 422)
@blp.arguments(UsageQuery, location="query")
@blp.response(200, page_of(UsageOut, "UsagePage"))
def list_usage(args):
    query = select_given(UsageRecord, args, "account_id", "ext_id", "state", "source")
    if "service_id" in args:
        query = query.where(UsageRecord.subscription_id.in_(
            select(Subscription.id).where(Subscription.service_id == args["service_id"])))
    if "first" in args:
        query = query.where(UsageRecord.day >= inputs.day(args["first"], "from"))
    if "last" in args:
        query = query.where(UsageRecord.day <= inputs.day(args["last"], "to"))
    with transaction() as session:
        return page(session, query, UsageRecord.id, args, UsageOut())


@blp.route("/usage/<int:record_id>", methods=["GET"])
@blp.operation("usage:view", 404)
@blp.response(200, UsageOut)
def get_usage(record_id):
    with transaction() as session:
        return dumped(UsageOut(), found(session, UsageRecord, record_id, "usage record"))


@blp.route("/usage", methods=["POST"])
@blp.operation("charges:create", 409, 422)
@blp.arguments(UsageIn)
@blp.response(201, UsageOut)
@blp.alt_response(200, schema=UsageOut, success=True,
                  description="the same key and body again: the record made then")
def post_usage(data):
    """Record one measured quantity and rate it at once: a charge of kind usage on the
    account whose ext_id it names, or the record stored as rejected with its reason."""
    with transaction(write=True) as session:
        draft = _draft(session, data)
        earlier = _by_key(session, draft.key)
        if earlier is not None and earlier.state != "rejected":
            return _repeated(earlier, draft)
        try:
            summary = record_usage(session, [draft])
        except ValidationError as exc:
            raise _named(exc) from None
        record = _by_key(session, draft.key)
        if summary.duplicates:  # another request with the key came first
            return _repeated(record, draft)
        return dumped(UsageOut(), record, 201)


def _draft(session, data: dict) -> UsageDraft:
    """The body as the rating path takes it (the same checks as `abonent usage add`)."""
    day = inputs.day(data.get("day"), "day", required=False) or operator_today(session)
    return UsageDraft(
        key=inputs.text(data["key"], "key", max_len=KEY_MAX),
        source=inputs.text(data["source"], "source", max_len=50),
        ext_id=inputs.text(data["ext_id"], "ext_id", max_len=100),
        sensor_type_id=find_sensor_type(session, data["sensor_type"]),
        unit_id=data.get("unit_id"),
        value=to_decimal(data["value"], "value", places=RATE_PLACES, allow_negative=True),
        day=usage_window(session).check(day, "day"))


def _by_key(session, key: str) -> UsageRecord | None:
    return session.scalars(select(UsageRecord).where(UsageRecord.key == key)).first()


def _repeated(record: UsageRecord, draft: UsageDraft):
    """The record again (200) when the body is the same measurement, else 409."""
    if all(getattr(record, name) == getattr(draft, name) for name in SAME):
        return dumped(UsageOut(), record, 200)
    differ = ", ".join(name for name in SAME if getattr(record, name) != getattr(draft, name))
    return answer(409, f"usage record {record.id} has the key {draft.key!r} with another "
                       f"{differ}: a key is one measurement", "key")


def _named(exc: ValidationError) -> ValidationError:
    """record_usage's drafts[0].sensor_type_id → the body's sensor_type, and so on."""
    if not exc.field.startswith(_DRAFT_FIELD):
        return exc
    name = exc.field[len(_DRAFT_FIELD):]
    return ValidationError("sensor_type" if name == "sensor_type_id" else name, exc.reason)
