"""Usage rating: measured quantities (CDR lines, usage plugins collect) become charges.

A usage record finds its account by `ext_id` (accounts not in the trash) and its counter
subscription by sensor type: an active subscription, in its dates on the record's day,
to a service of kind "counter" with the record's sensor type (and unit, when the record
names one); the lowest subscription id wins if several match. It is charged
value × price per unit, rounded half-up to the cent, as a charge of kind "usage" keyed
`u:<record key>` for that day. Blocked accounts are rated too: the usage happened.

Records are idempotent by their key: a record already stored and rated is a duplicate,
counted and not rated again. A record that cannot be rated (unknown or ambiguous ext_id,
no matching counter subscription, negative value…) is stored as "rejected" with its
reason, never dropped, so an operator can see and fix it. A rejected record does not
block its correction: a record arriving with the key of a rejected one (the value
corrected, or the line re-sent once the account's ext_id is fixed) supersedes it and is
rated afresh; the rejected row stays, its key moved to `<key>~superseded:<its id>` (see
`SUPERSEDED`), so the history of the refusals remains visible.

Rating is set-based, by chunks of CHUNK records: they go into a temporary staging table
(COPY on PostgreSQL, executemany on SQLite), then one `INSERT … SELECT … ON CONFLICT
(key) DO NOTHING` stores them resolved (or rejected) and one `INSERT … SELECT` writes
the charges of those stored. On PostgreSQL both are one statement (data-modifying CTEs,
charge ids drawn from the sequence beforehand); SQLite links records to their charges
with an UPDATE. Only when a plugin implements `abonent_rate_usage` is each record priced
in Python, through the hook. The charges of a run share a ledger batch, so the balances
move with one UPDATE at the end (core.ledger.post_batch), and contracts that went below
their limit are blocked (core.blocking.check_balances).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import Iterable, Iterator, Sequence

from sqlalchemy import (BigInteger, Column, Date, Integer, MetaData, Numeric, String, Table,
                        and_, case, cast, func, insert, literal, literal_column, null, or_,
                        select, update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from core import blocking
from core.audit import audit
from core.clock import now
from core.contributions import UsageDraft
from core.errors import NotFound, ValidationError
from core.ledger import new_batch, post_batch
from core.models import Account, Charge, SensorType, Service, Subscription, UsageRecord
from core.money import RATE_PLACES, round_money, to_decimal
from core.runtime import runtime_of
from core.services import inputs
from core.services.dates import PastWindow, operator_today, usage_window

#: Records handled per statement family; bounds memory whatever the input's size.
CHUNK = 50_000
#: A record key must leave room for the "u:" of its charge's key (charge.key holds 120).
KEY_MAX = 118
ID_MAX = 2**31 - 1  # ids are INTEGER columns
#: check_balances takes the affected contracts in slices (a statement's bind-parameter limit).
_CONTRACT_SLICE = 10_000
#: What a rejected record's key becomes when a record with its key supersedes it.
SUPERSEDED = "~superseded:"

#: (key, source, ext_id, unit_id, sensor_type_id, value, day) of one record, validated.
Row = tuple[str, str, str, "int | None", int, Decimal, date]

_CHARGE_COLUMNS = ("key", "contract_id", "account_id", "subscription_id", "service_id", "kind",
                   "period_start", "period_end", "quantity", "amount", "batch", "created_at")
_STAGING_COLUMNS = ("key", "source", "ext_id", "unit_id", "sensor_type_id", "value", "day")
STAGING = Table(
    "usage_staging", MetaData(),
    Column("key", String(200)), Column("source", String(50)), Column("ext_id", String(100)),
    Column("unit_id", Integer), Column("sensor_type_id", Integer),
    Column("value", Numeric(18, RATE_PLACES)), Column("day", Date),
    prefixes=["TEMPORARY"], postgresql_on_commit="DROP",
)


@dataclass
class RatingSummary:
    """What one rating run did; `received` = rated + rejected + duplicates.
    `rejections` lists (record key, reason) of the records `record_usage` stored as
    rejected (a CDR intake writes them to its .rej file instead)."""

    received: int = 0
    rated: int = 0
    duplicates: int = 0
    rejected: int = 0
    amount: Decimal = Decimal("0.00")
    blocked: int = 0
    rejections: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"received": self.received, "rated": self.rated, "duplicates": self.duplicates,
                "rejected": self.rejected, "amount": str(self.amount), "blocked": self.blocked}


def record_usage(session: Session, drafts: Iterable[UsageDraft]) -> RatingSummary:
    """Store and rate usage records given by the service layer or a plugin.

    Each draft is checked first (a malformed one, or one for a day outside the usage
    window of core.services.dates, raises ValidationError naming `drafts[i].<field>`, and
    nothing is written); a negative value is not malformed but rejected at rating, with
    its reason.
    """
    run = RatingRun(session)
    window = usage_window(session)
    rows = (_draft_row(draft, index, window) for index, draft in enumerate(drafts))
    rejections = [rejection for chunk in _chunks(rows, CHUNK) for rejection in run.add(chunk)]
    summary = run.finish()
    summary.rejections = rejections
    return summary


def collect_usage(session: Session, day: date) -> RatingSummary:
    """Ask every plugin for the usage measured on `day` and record it (same path as
    `record_usage`)."""
    drafts: list[UsageDraft] = []
    for returned in runtime_of(session).hook.abonent_collect_usage(session=session, day=day):
        for draft in returned or []:
            if not isinstance(draft, UsageDraft):
                raise ValidationError("abonent_collect_usage",
                                      f"a plugin returned {type(draft).__name__}, not a UsageDraft")
            drafts.append(draft)
    return record_usage(session, drafts)


def find_sensor_type(session: Session, value, field: str = "sensor_type") -> int:
    """A sensor type's id, given by id or by name ("sensor_1")."""
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdecimal()):
        return inputs.fetch(session, SensorType, value, field).id
    name = inputs.text(value, field, max_len=100)
    found = session.scalar(select(SensorType.id).where(SensorType.name == name))
    if found is None:
        raise NotFound(field, f"no sensor type named {name!r}")
    return found


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _draft_row(draft: UsageDraft, index: int, window: PastWindow) -> Row:
    where = f"drafts[{index}]"
    if not isinstance(draft, UsageDraft):
        raise ValidationError(where, f"a UsageDraft is required, not {type(draft).__name__}")
    key = _printable(draft.key, f"{where}.key", KEY_MAX)
    source = _printable(draft.source, f"{where}.source", 50)
    ext_id = _printable(draft.ext_id, f"{where}.ext_id", 100)
    sensor_type_id = _int_id(draft.sensor_type_id, f"{where}.sensor_type_id")
    unit_id = None if draft.unit_id is None else _int_id(draft.unit_id, f"{where}.unit_id")
    value = to_decimal(draft.value, f"{where}.value", places=RATE_PLACES, allow_negative=True)
    day = window.check(inputs.day(draft.day, f"{where}.day"), f"{where}.day")
    return key, source, ext_id, unit_id, sensor_type_id, value, day


def _printable(value, field: str, max_len: int) -> str:
    text = inputs.text(value, field, max_len=max_len)
    if not text.isprintable():
        raise ValidationError(field, "must not contain control characters")
    return text


def _int_id(value, field: str) -> int:
    number = inputs.integer(value, field)
    if not 0 <= number <= ID_MAX:
        raise ValidationError(field, f"must be between 0 and {ID_MAX}")
    return number


class RatingRun:
    """One rating run inside the caller's transaction: rows go in by chunks (`add`), the
    balances move and blocks are checked once (`finish`). core.cdr feeds it a file."""

    def __init__(self, session: Session):
        self.session = session
        self.dialect = session.bind.dialect.name
        self.batch = new_batch("usage")
        self.at = now()
        self.priced_by_plugins = bool(runtime_of(session).pm.impls("abonent_rate_usage"))
        self.summary = RatingSummary()
        self.charge_sequence = (session.scalar(select(func.pg_get_serial_sequence("charge", "id")))
                                if self.dialect == "postgresql" else None)
        connection = session.connection()
        connection.exec_driver_sql("DROP TABLE IF EXISTS "
                                   + ("temp." if self.dialect == "sqlite" else "") + STAGING.name)
        STAGING.create(connection)
        if self.dialect == "sqlite":
            connection.connection.driver_connection.create_function(
                "abonent_usage_amount", 2, _sqlite_amount, deterministic=True)

    def add(self, rows: Sequence[Row]) -> list[tuple[str, str]]:
        """Store and rate one chunk; returns the (key, reason) of the records it rejected."""
        self._stage(rows)
        self._supersede_rejected()
        at_once = self.dialect == "postgresql" and not self.priced_by_plugins
        stored = []
        for day in sorted({row[6] for row in rows}):
            stored += self.session.execute(self._store(day, charged=at_once)).all()
        rejections = [(key, reason) for key, reason in stored if reason is not None]
        if self.priced_by_plugins:
            rated, refused = self._rate_through_hook()
            rejections += refused
        elif at_once:
            rated = len(stored) - len(rejections)
        else:
            rated = self._rate_in_sql()
        summary = self.summary
        summary.received += len(rows)
        summary.duplicates += len(rows) - len(stored)
        summary.rated += rated
        summary.rejected += len(rejections)
        return rejections

    def finish(self) -> RatingSummary:
        """Move the balances of everything charged in this run and block contracts that
        went below their limit."""
        session, summary = self.session, self.summary
        total = session.scalar(select(func.sum(Charge.amount)).where(Charge.batch == self.batch))
        summary.amount = Decimal(str(total or 0)).quantize(Decimal("0.01"))
        post_batch(session, self.batch)
        contracts = list(session.scalars(
            select(Charge.contract_id).where(Charge.batch == self.batch).distinct()))
        for start in range(0, len(contracts), _CONTRACT_SLICE):
            checked = blocking.check_balances(session, contracts[start:start + _CONTRACT_SLICE])
            summary.blocked += checked["blocked"]
        audit(session, "rate", "usage", self.batch, summary.as_dict())
        return summary

    # -- staging -------------------------------------------------------------------

    def _stage(self, rows: Sequence[Row]) -> None:
        connection = self.session.connection()
        connection.execute(STAGING.delete())
        if self.dialect == "postgresql":
            columns = ", ".join(_STAGING_COLUMNS)
            with connection.connection.driver_connection.cursor() as cursor:
                with cursor.copy(f"COPY {STAGING.name} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(f"ANALYZE {STAGING.name}")
        else:
            marks = ", ".join("?" * len(_STAGING_COLUMNS))
            connection.exec_driver_sql(
                f"INSERT INTO {STAGING.name} ({', '.join(_STAGING_COLUMNS)}) VALUES ({marks})",
                [(key, source, ext_id, unit_id, sensor, str(value), day.isoformat())
                 for key, source, ext_id, unit_id, sensor, value, day in rows])

    def _supersede_rejected(self) -> None:
        """Move the keys of stored rejected records that a staged record repeats out of the
        way (`<key>~superseded:<id>`), so the new record is stored and rated; a rated
        record with the key stays, and the staged one is a duplicate."""
        self.session.execute(
            update(UsageRecord)
            .where(UsageRecord.state == "rejected",
                   UsageRecord.key.in_(select(STAGING.c.key)))
            .values(key=UsageRecord.key + literal(SUPERSEDED) + _text(UsageRecord.id)),
            execution_options={"synchronize_session": False})

    def _insert(self, model):
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(model)

    # -- resolving: account, counter subscription, or the reason there is none ----------

    def _store(self, day: date, charged: bool):
        """INSERT the staged records of `day`, resolved (account, subscription) or
        rejected with their reason, RETURNING key and reason of those inserted (not
        duplicates). `charged` (PostgreSQL): in the same statement, charge them too."""
        staged = STAGING.c
        matched = (select(Account.ext_id, func.count().label("n"),
                          func.min(Account.id).label("account_id"))
                   .where(Account.trashed_at.is_(None),
                          Account.ext_id.in_(select(staged.ext_id).where(staged.day == day)))
                   .group_by(Account.ext_id).subquery("matched"))
        live = and_(Service.kind == "counter", Subscription.state == "active",
                    Subscription.start_on <= day,
                    or_(Subscription.end_on.is_(None), Subscription.end_on >= day))
        exact = (select(Subscription.account_id, Service.sensor_type_id, Service.unit_id,
                        func.min(Subscription.id).label("id"))
                 .join(Service, Service.id == Subscription.service_id).where(live)
                 .group_by(Subscription.account_id, Service.sensor_type_id, Service.unit_id)
                 .subquery("exact_unit"))
        any_unit = (select(Subscription.account_id, Service.sensor_type_id,
                           func.min(Subscription.id).label("id"))
                    .join(Service, Service.id == Subscription.service_id).where(live)
                    .group_by(Subscription.account_id, Service.sensor_type_id)
                    .subquery("any_unit"))
        chosen = aliased(Subscription, name="chosen")
        priced = aliased(Service, name="priced")
        one_account = matched.c.n == 1
        subscription_id = func.coalesce(exact.c.id, any_unit.c.id)
        unit = case((staged.unit_id.is_(None), literal("")),
                    else_=literal(" in unit ") + _text(staged.unit_id))
        reason = case(
            (staged.value < 0, literal("negative value")),
            (matched.c.n.is_(None), literal("unknown ext_id ") + staged.ext_id),
            (matched.c.n > 1, literal("ext_id ") + staged.ext_id + literal(" matches ")
             + _text(matched.c.n) + literal(" accounts")),
            (SensorType.id.is_(None), literal("unknown sensor type ")
             + _text(staged.sensor_type_id)),
            (subscription_id.is_(None), literal("no active counter service for sensor type ")
             + _text(staged.sensor_type_id) + unit + literal(f" on {day.isoformat()}")),
            (priced.price_per_unit.is_(None), literal("counter service ")
             + _text(priced.id) + literal(" has no price per unit")),
        )
        source = (
            STAGING.outerjoin(matched, matched.c.ext_id == staged.ext_id)
            .outerjoin(exact, and_(one_account, exact.c.account_id == matched.c.account_id,
                                   exact.c.sensor_type_id == staged.sensor_type_id,
                                   exact.c.unit_id == staged.unit_id))
            .outerjoin(any_unit, and_(one_account, staged.unit_id.is_(None),
                                      any_unit.c.account_id == matched.c.account_id,
                                      any_unit.c.sensor_type_id == staged.sensor_type_id))
            .outerjoin(SensorType, SensorType.id == staged.sensor_type_id)
            .outerjoin(chosen, chosen.id == subscription_id)
            .outerjoin(priced, priced.id == chosen.service_id))
        good = "rated" if charged else "pending"
        resolved = select(
            staged.key, staged.source, staged.ext_id, staged.unit_id, staged.sensor_type_id,
            staged.value, staged.day,
            case((reason.is_(None), literal(good)), else_=literal("rejected")), reason,
            case((one_account, matched.c.account_id)), subscription_id,
            case((reason.is_(None), self._next_charge_id())) if charged else null(),
            literal(self.at, UsageRecord.created_at.type),
        ).select_from(source).where(staged.day == day)
        columns = ["key", "source", "ext_id", "unit_id", "sensor_type_id", "value", "day",
                   "state", "reason", "account_id", "subscription_id", "charge_id", "created_at"]
        insert_records = (self._insert(UsageRecord).from_select(columns, resolved)
                          .on_conflict_do_nothing(index_elements=["key"]))
        if not charged:
            return insert_records.returning(UsageRecord.key, UsageRecord.reason)
        return self._with_charges(insert_records.returning(
            UsageRecord.key, UsageRecord.reason, UsageRecord.account_id,
            UsageRecord.subscription_id, UsageRecord.charge_id, UsageRecord.value,
            UsageRecord.day).cte("stored"))

    def _next_charge_id(self):
        return literal_column(f"nextval('{self.charge_sequence}'::regclass)", BigInteger)

    def _with_charges(self, stored):
        """One statement storing the records (CTE `stored`, their charge ids drawn from
        the charge sequence) and inserting the charges of those actually stored: a
        duplicate gets none, and no UPDATE is needed to link them (the foreign key is
        checked at the end of the statement, when both rows exist)."""
        charges = (
            select(stored.c.charge_id, literal("u:") + stored.c.key, Account.contract_id,
                   stored.c.account_id, stored.c.subscription_id, Subscription.service_id,
                   literal("usage"), stored.c.day, stored.c.day, stored.c.value,
                   self._amount(stored.c.value, Service.price_per_unit), literal(self.batch),
                   literal(self.at, Charge.created_at.type))
            .select_from(stored)
            .join(Subscription, Subscription.id == stored.c.subscription_id)
            .join(Service, Service.id == Subscription.service_id)
            .join(Account, Account.id == stored.c.account_id)
            .where(stored.c.charge_id.is_not(None)))
        insert_charges = insert(Charge).from_select(["id", *_CHARGE_COLUMNS], charges)
        return select(stored.c.key, stored.c.reason).add_cte(insert_charges.cte("charged"))

    def _amount(self, value, price):
        """value × price rounded half-up to the cent, in SQL."""
        if self.dialect == "postgresql":
            return func.round(value * price, 2)
        return func.abonent_usage_amount(value, price)

    # -- pricing ------------------------------------------------------------------------

    def _pending(self, *columns):
        return (select(*columns).select_from(STAGING)
                .join(UsageRecord, UsageRecord.key == STAGING.c.key)
                .join(Subscription, Subscription.id == UsageRecord.subscription_id)
                .join(Service, Service.id == Subscription.service_id)
                .join(Account, Account.id == UsageRecord.account_id)
                .where(UsageRecord.state == "pending"))

    def _rate_in_sql(self) -> int:
        """Charge every pending record of the chunk with one INSERT … SELECT, then link
        the records to their charges with one UPDATE; returns how many were charged.
        (SQLite's way: it has no data-modifying CTE for `_with_charges`.)"""
        charges = self._pending(
            literal("u:") + UsageRecord.key, Account.contract_id, UsageRecord.account_id,
            UsageRecord.subscription_id, Subscription.service_id, literal("usage"),
            UsageRecord.day, UsageRecord.day, UsageRecord.value,
            self._amount(UsageRecord.value, Service.price_per_unit), literal(self.batch),
            literal(self.at, Charge.created_at.type))
        self.session.execute(self._insert(Charge).from_select(list(_CHARGE_COLUMNS), charges)
                             .on_conflict_do_nothing(index_elements=["key"]))
        linked = self.session.execute(
            update(UsageRecord)
            .where(UsageRecord.key == STAGING.c.key, UsageRecord.state == "pending",
                   Charge.key == literal("u:") + STAGING.c.key, Charge.batch == self.batch)
            .values(state="rated", charge_id=Charge.id),
            execution_options={"synchronize_session": False})
        return linked.rowcount

    def _rate_through_hook(self) -> tuple[int, list[tuple[str, str]]]:
        """Price each pending record of the chunk through `abonent_rate_usage` (the first
        plugin answering wins; None from all: value × price per unit)."""
        session = self.session
        hook = runtime_of(session).hook.abonent_rate_usage
        pending = session.execute(self._pending(UsageRecord, Service, Account)
                                  .order_by(UsageRecord.id)).all()
        charged: list[tuple[UsageRecord, dict]] = []
        refused: list[tuple[str, str]] = []
        for record, service, account in pending:
            try:
                amount = hook(session=session, record=record, service=service, account=account)
                amount = _hook_amount(amount, record.value * service.price_per_unit)
            except ValidationError as exc:
                record.state, record.reason = "rejected", exc.reason[:300]
                refused.append((record.key, record.reason))
                continue
            charged.append((record, {
                "key": f"u:{record.key}", "contract_id": account.contract_id,
                "account_id": account.id, "subscription_id": record.subscription_id,
                "service_id": service.id, "kind": "usage", "period_start": record.day,
                "period_end": record.day, "quantity": record.value, "amount": amount,
                "batch": self.batch, "created_at": self.at}))
        if charged:
            ids = session.scalars(insert(Charge).returning(Charge.id, sort_by_parameter_order=True),
                                  [values for _, values in charged]).all()
            for (record, _), charge_id in zip(charged, ids):
                record.state, record.charge_id = "rated", charge_id
        session.flush()
        return len(charged), refused


def _text(expression):
    return cast(expression, String)


def _hook_amount(amount, default: Decimal) -> Decimal:
    """The amount a plugin returned (None: the default), as cents; a plugin returning
    something that is not a non-negative number rejects the record, saying so."""
    if amount is None:
        return round_money(default)
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
        raise ValidationError("amount", f"abonent_rate_usage returned {amount!r}, "
                                        f"not a Decimal")
    if not Decimal(amount).is_finite() or amount < 0:
        raise ValidationError("amount", f"abonent_rate_usage returned {amount}, "
                                        f"not a non-negative amount")
    return round_money(amount)


def _sqlite_amount(value, price) -> str | None:
    """value × price rounded half-up to the cent, for SQLite, whose numbers are floats:
    both were stored with at most six decimals, so their shortest repr is exact."""
    if value is None or price is None:
        return None
    return str(round_money(Decimal(repr(value)) * Decimal(repr(price))))
