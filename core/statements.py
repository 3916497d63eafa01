"""A contract's statement (выписка по лицевому счёту) for any period of days: the balance
at its start, every charge, payment and correction in order with the running balance,
the balance at its end, and totals per kind; as a printable HTML page and as CSV.

Read from the ledger, never stored. An entry is placed at the moment it moved the
balance (`created_at`: when the charge was written or the payment recorded), as a bank
statement books by posting date; so the closing balance of any day is exactly what
`contract.balance` was at the end of that day, and a late charge (a CDR that came a week
late) or a payment recorded today for yesterday shows where it moved the money, with the
period it is for or the time it was received beside it.

The balances are anchored on `contract.balance` today: closing = balance − what was
posted after the period, opening = closing − what was posted in it. So the statement
agrees with the card, and reading it costs only this contract's rows from the period's
start on (the ledger's indexes lead with contract_id). The contract row is locked FOR
SHARE first (PostgreSQL), in a statement of its own: a writer moving this balance has
committed by then or waits for the statement's transaction, so the balance and the rows
read after it are of one moment.

The days are the operator's (its time zone); the period may end today (the closing
balance is then today's so far) but not later, and `from` may not be after `to`.
"""
from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import csvout, doctemplates
from core.charging import day_start
from core.clock import today
from core.documents import money_text, parties, subscriber_address
from core.documents import sample_context as invoice_sample
from core.errors import ValidationError
from core.models import Charge, Contract, Payment, Service
from core.services import inputs
from core.services.customers import find_contract

ZERO = Decimal("0.00")
CSV_HEADER = ("date", "time", "kind", "description", "charge", "payment", "balance",
              "reference")
#: what each kind of entry is called on a statement
KIND_TITLES = {"payment": "Payment", "credit": "Credit", "promise": "Promised payment",
               "reversal": "Reversal", "promise_end": "Promised payment ended",
               "periodic": "Subscription fee", "one_time": "One-time charge", "usage": "Usage",
               "manual": "Manual charge", "refund": "Refund",
               "imported": "Balance brought from another billing"}


@dataclass(frozen=True)
class Entry:
    """One line of a statement, and the balance after it: a charge (a refund is a
    negative one) or a payment-side row (money received, a credit, a promised payment;
    negative: a reversal, the end of a promised payment)."""

    at: datetime
    kind: str
    description: str
    charge: Decimal | None
    payment: Decimal | None
    balance: Decimal
    reference: str

    @property
    def amount(self) -> Decimal:
        """What the entry did to the balance."""
        return (self.payment or ZERO) - (self.charge or ZERO)


@dataclass(frozen=True)
class Total:
    kind: str
    charge: Decimal | None
    payment: Decimal | None


def _sum(values: Iterable[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), start=ZERO)


def _column(values: list[Decimal | None]) -> Decimal | None:
    """The sum of a column of a kind's entries, None when the kind has none in it."""
    return None if all(v is None for v in values) else _sum(values)


@dataclass
class Statement:
    """What a statement shows; `entries` in the order they moved the balance. Plain
    values only, so it is printed after its session has ended."""

    contract_id: int
    number: str
    subscriber: str
    address: str
    operator: str
    currency: str
    first_day: date
    last_day: date
    zone: str
    opening: Decimal
    closing: Decimal
    entries: list[Entry] = field(default_factory=list)

    @property
    def charged(self) -> Decimal:
        return _sum(e.charge for e in self.entries)

    @property
    def paid(self) -> Decimal:
        return _sum(e.payment for e in self.entries)

    @property
    def totals(self) -> list[Total]:
        """The charges and payments of each kind of entry, kinds in order of appearance."""
        kinds: dict[str, list[Entry]] = defaultdict(list)
        for entry in self.entries:
            kinds[entry.kind].append(entry)
        return [Total(kind, _column([e.charge for e in entries]),
                      _column([e.payment for e in entries]))
                for kind, entries in kinds.items()]

    def local(self, at: datetime) -> datetime:
        return at.astimezone(ZoneInfo(self.zone))


# --- input ---------------------------------------------------------------------------------

def check_period(first: Any, last: Any, local_today: date) -> tuple[date, date]:
    """The first and last day of a period asked for, checked: both dates (fields `from`
    and `to`), from ≤ to ≤ `local_today`, from 2000 on."""
    first_day = inputs.day(first, "from")
    last_day = inputs.day(last, "to")
    if first_day > last_day:
        raise ValidationError("to", f"{last_day} is before from ({first_day})")
    if last_day > local_today:
        raise ValidationError("to", f"{last_day} is after today ({local_today}): a report "
                                    "shows what has happened")
    if first_day.year < 2000:
        raise ValidationError("from", f"{first_day} is before 2000-01-01")
    return first_day, last_day


# --- reading the ledger --------------------------------------------------------------------

def _posted_after(contract_id: int, moment: datetime):
    """Payments − charges posted from `moment` on: what to take from today's balance to
    get the balance at `moment`."""
    paid = (select(func.coalesce(func.sum(Payment.amount), ZERO))
            .where(Payment.contract_id == contract_id, Payment.created_at >= moment)
            .scalar_subquery())
    charged = (select(func.coalesce(func.sum(Charge.amount), ZERO))
               .where(Charge.contract_id == contract_id, Charge.created_at >= moment)
               .scalar_subquery())
    return paid, charged


def _charge_text(charge: Charge, service: str | None) -> str:
    what = service or KIND_TITLES.get(charge.kind, charge.kind)
    days = (charge.period_start.isoformat() if charge.period_end == charge.period_start
            else f"{charge.period_start.isoformat()} – {charge.period_end.isoformat()}")
    return ", ".join(filter(None, [what, days, charge.comment]))


def _payment_text(payment: Payment, zone: ZoneInfo) -> str:
    """Money received names its source and key; a correction (credit, promised payment,
    reversal…) its reason, and the row it undoes."""
    received = payment.received_at.astimezone(zone)
    posted = payment.created_at.astimezone(zone)
    parts = [f"{payment.source} {payment.external_id}" if payment.kind == "payment" else None]
    if payment.reverses_id is not None:
        parts.append(f"undoes payment:{payment.reverses_id}")
    if received.date() != posted.date():
        parts.append(f"received {received:%Y-%m-%d %H:%M}")
    return ", ".join(filter(None, [*parts, payment.comment]))


def _movements(session: Session, contract_id: int, start: datetime, end: datetime,
               zone: ZoneInfo) -> list[Entry]:
    """Every row posted in [start, end), in order (the balance left blank: 0)."""
    rows: list[tuple[tuple[datetime, int, int], Entry]] = []
    for charge, service in session.execute(
            select(Charge, Service.name).outerjoin(Service, Service.id == Charge.service_id)
            .where(Charge.contract_id == contract_id, Charge.created_at >= start,
                   Charge.created_at < end)):
        rows.append(((charge.created_at, 1, charge.id), Entry(
            charge.created_at, charge.kind, _charge_text(charge, service), charge.amount, None,
            ZERO, f"charge:{charge.id}")))
    for payment in session.scalars(select(Payment).where(
            Payment.contract_id == contract_id, Payment.created_at >= start,
            Payment.created_at < end)):
        rows.append(((payment.created_at, 0, payment.id), Entry(
            payment.created_at, payment.kind, _payment_text(payment, zone), None,
            payment.amount, ZERO, f"payment:{payment.id}")))
    rows.sort(key=lambda row: row[0])
    return [entry for _order, entry in rows]


def build(session: Session, contract: Any, first: Any, last: Any) -> Statement:
    """The statement of `contract` (id or number) from day `first` to day `last`
    inclusive; ValidationError naming `contract`, `from` or `to` on bad input."""
    target = find_contract(session, contract, "contract")
    first_day, last_day = check_period(first, last, today(target.operator.timezone))
    zone = target.operator.timezone
    start = day_start(first_day, zone)
    end = day_start(last_day + timedelta(days=1), zone)
    # the lock first, in a statement of its own: a statement that waited for a writer
    # would read the balance it committed but the ledger as it was before
    session.execute(select(Contract.id).where(Contract.id == target.id)
                    .with_for_update(read=True))
    paid_after, charged_after = _posted_after(target.id, end)
    balance, paid, charged = session.execute(
        select(Contract.balance, paid_after, charged_after)
        .where(Contract.id == target.id)).one()
    closing = balance - paid + charged
    movements = _movements(session, target.id, start, end, ZoneInfo(zone))
    running = closing - _sum(e.amount for e in movements)
    statement = Statement(target.id, target.number, target.subscriber.name,
                          subscriber_address(target.subscriber), target.operator.name,
                          target.operator.currency, first_day, last_day, zone,
                          opening=running, closing=closing)
    for entry in movements:
        running += entry.amount
        statement.entries.append(replace(entry, balance=running))
    return statement


# --- documents -----------------------------------------------------------------------------

def context(session: Session, statement: Statement) -> dict[str, Any]:
    """What the statement's template is given: `st` (the Statement), `titles` (what each
    kind of entry is called) and the parties every document has (core.documents)."""
    return {**parties(session, session.get(Contract, statement.contract_id)), "st": statement,
            "titles": KIND_TITLES}


def sample_context() -> dict[str, Any]:
    """A made-up statement of the shape `context` gives (checks an edited template)."""
    at = datetime(2026, 1, 10, 9, 30, tzinfo=ZoneInfo("UTC"))
    sample = Statement(1, "C-00001", "Sample Subscriber", "Sample street 1", "Sample ISP",
                       "RUB", date(2026, 1, 1), date(2026, 1, 31), "UTC",
                       opening=Decimal("100.00"), closing=Decimal("-200.00"))
    sample.entries += [Entry(at, "payment", "bank 42", None, Decimal("100.00"),
                             Decimal("200.00"), "payment:1"),
                       Entry(at, "periodic", "Internet, 2026-01", Decimal("400.00"), None,
                             Decimal("-200.00"), "charge:1")]
    return {**{k: v for k, v in invoice_sample().items() if k not in ("invoice", "lines")},
            "st": sample, "titles": KIND_TITLES}


def render_html(session: Session, statement: Statement) -> str:
    """The printable statement (A4): the operator's template or core/templates/statement.html."""
    return doctemplates.render(session, "statement", context(session, statement))


def _money(value: Decimal | None) -> str | None:
    return None if value is None else money_text(value)


def csv_rows(statement: Statement) -> Iterable[list[Any]]:
    """The opening row, one row per entry, the closing row (with the period's charges and
    payments), then a total row per kind."""
    yield [statement.first_day.isoformat(), "", "opening", "Opening balance", None, None,
           money_text(statement.opening), None]
    for entry in statement.entries:
        local = statement.local(entry.at)
        yield [local.date().isoformat(), local.strftime("%H:%M:%S"), entry.kind,
               entry.description, _money(entry.charge), _money(entry.payment),
               money_text(entry.balance), entry.reference]
    yield [statement.last_day.isoformat(), "", "closing", "Closing balance",
           money_text(statement.charged), money_text(statement.paid),
           money_text(statement.closing), None]
    for total in statement.totals:
        yield ["", "", "total", KIND_TITLES.get(total.kind, total.kind), _money(total.charge),
               _money(total.payment), None, None]


def render_csv(statement: Statement) -> str:
    """The statement as CSV under `CSV_HEADER` (text cells neutralised by core.csvout)."""
    out = io.StringIO()
    writer = csvout.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(statement))
    return out.getvalue()
