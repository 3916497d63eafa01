"""Invoicing: each contract's document (счёт / акт) for a month, with its lines.

`invoice_period` issues one invoice per contract that has charges whose period starts in
the month (or corrections, below), or lines a plugin adds through `abonent_invoice_lines`. A contract that already
has its invoice for the month is skipped (the table keeps one per contract and month), so
a run repeated, resumed after a crash, or limited to one contract on demand never issues
a second one.

Lines:
- one per service, summing the service's charges of the month. A refund (a negative
  charge: unused days of a monthly fee) folds into its service's line, lowering both its
  amount and its quantity, so the line shows what was used ("Internet, 20 days");
- quantity: the days charged for a periodic service, the items for a one-time service,
  the measured quantity in the service's unit for a counter service ("Wialon, 6 pcs");
- charges without a service (manual ones, a refund by hand) make a line per kind;
- then every plugin's lines, in plugin order, with the plugin's name as their source.
VAT comes from the operator (a plugin line may carry its own rate): when prices include
VAT the amount is the gross and net = gross / (1 + rate); otherwise the amount is the net
and VAT is added. Each line is rounded half-up to the cent; totals are sums of the lines.

The work is set-based and bounded in memory: contracts are taken in windows of
`batch_size` ids, one transaction each; a window costs one look-up of its invoices, one
GROUP BY over its charges, one block of numbers, one insert of its invoices, one of their
lines and one of their events. Numbers come from the operator's invoice plan in the
window's transaction, so a window that fails gives its numbers back and the series has no
gaps. The windows of concurrent runs are serialised by a lock taken before a window looks
at its invoices (an advisory lock on PostgreSQL; SQLite's transactions take the write lock
as they begin), so two runs at once issue each invoice once.

When a plugin implements `abonent_invoice_lines`, every contract without its invoice is
asked for lines (once per run), in a savepoint: a plugin that raises aborts only that
contract's invoice, with what it wrote, and the report names the contract.

A dry run does the same work in one transaction that is rolled back: nothing is written
and no number is consumed.

Charges are invoiced by the month their period starts in, and each remembers the invoice
that carries it (`charge.invoice_id`). One written for a month after that month was
invoiced (a late CDR, a manual charge, a month closed early) goes on the contract's next
invoice as a correction line, "Correction for 2026-10: Wialon objects", one per month and
service — never silently on none. "After that month was invoiced" means from the first
month any invoice exists for on (`_Run.floor`): charges of months before invoicing began
are left to their own month's run; invoice the months in order (the scheduler does).

A month is invoiced once it has ended in the operator's time zone; invoicing it earlier
(`close_early`) is refused unless asked for on purpose, and audited. A dry run may look
at a month that has not ended.

On PostgreSQL a window locks the charge table against writers (SHARE ROW EXCLUSIVE) while
it sums and links the charges, so a charge committed in between is neither summed without
being linked nor linked without being summed; it waits for the window, then lands on the
next invoice. SQLite's write lock does the same.
"""
from __future__ import annotations

import calendar
import logging
import re
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, ContextManager

from sqlalchemy import and_, case, exists, func, select, text, type_coerce, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from core.audit import audit
from core.clock import now, today
from core.contributions import InvoiceLineDraft
from core.errors import NotFound, ValidationError
from core.events import emit_many
from core.models import (Charge, Contract, Invoice, InvoiceLine, NumberPlan, Operator,
                         Service, Unit)
from core.models.base import Rate
from core.money import RATE_PLACES, round_money, to_decimal
from core.numbering import next_numbers
from core.runtime import Runtime
from core.services import inputs
from core.services.dates import operator_today
from core.sqlfuncs import inline_ids, insert_rows

log = logging.getLogger("abonent.invoicing")

BATCH_SIZE = 500
EXAMPLES = 3
LOCK_KEY = 0x696E766F  # "invo": the advisory lock each batch of a run takes on PostgreSQL
HOOK = "abonent_invoice_lines"
#: the unit of a line's quantity, by the kind of its service (counter: the service's unit)
UNITS = {"periodic": "days", "one_time": "pcs"}
#: the description of a line of charges that name no service, by charge kind
WITHOUT_SERVICE = {"manual": "Other charges", "refund": "Refund", "usage": "Usage",
                   "periodic": "Periodic charges", "one_time": "One-time charges"}
HUNDRED = Decimal(100)


# --- what a run reports ------------------------------------------------------------------

@dataclass
class Totals:
    net: Decimal = Decimal("0.00")
    vat: Decimal = Decimal("0.00")
    gross: Decimal = Decimal("0.00")

    def add(self, net: Decimal, vat: Decimal, gross: Decimal) -> None:
        self.net += net
        self.vat += vat
        self.gross += gross


@dataclass
class RunReport:
    """What a run issued (or, in a dry run, would issue).

    `skipped`: contracts of the selection that already had their invoice for the month;
    `failed`: contracts whose invoice a plugin's lines aborted ({contract_id, error});
    `examples`: the first few invoices with their lines; `totals` per currency.
    """

    period_start: date
    period_end: date
    dry_run: bool = False
    issued: int = 0
    skipped: int = 0
    first_number: str | None = None
    last_number: str | None = None
    totals: dict[str, Totals] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"period_start": self.period_start.isoformat(),
                "period_end": self.period_end.isoformat(), "dry_run": self.dry_run,
                "issued": self.issued, "skipped": self.skipped,
                "first_number": self.first_number, "last_number": self.last_number,
                "totals": {currency: {"net": str(t.net), "vat": str(t.vat), "gross": str(t.gross)}
                           for currency, t in sorted(self.totals.items())},
                "examples": self.examples, "failed": self.failed}


# --- amounts -------------------------------------------------------------------------------

def split_vat(amount: Decimal, rate: Decimal, prices_include_vat: bool
              ) -> tuple[Decimal, Decimal, Decimal]:
    """(net, vat, gross) of a line `amount` at `rate` percent, each rounded half-up to the
    cent; `amount` is the gross when prices include VAT, else the net."""
    factor = rate / HUNDRED
    if prices_include_vat:
        gross = round_money(amount)
        net = round_money(gross / (1 + factor))
        return net, gross - net, gross
    net = round_money(amount)
    vat = round_money(net * factor)
    return net, vat, net + vat


@dataclass(frozen=True)
class Line:
    """An invoice line before it is priced: `amount` is in the operator's convention."""

    description: str
    quantity: Decimal
    unit: str | None
    amount: Decimal
    vat_rate: Decimal
    service_id: int | None = None
    source: str = "core"


@dataclass(frozen=True)
class Terms:
    """What an operator's invoices need, read once per run."""

    operator_id: int
    currency: str
    vat_rate: Decimal
    prices_include_vat: bool
    timezone: str
    plan: NumberPlan | None

    @classmethod
    def of(cls, session: Session, operator: Operator) -> "Terms":
        plan = (session.get(NumberPlan, operator.invoice_plan_id)
                if operator.invoice_plan_id is not None else None)
        return cls(operator.id, operator.currency, operator.vat_rate, operator.prices_include_vat,
                   operator.timezone, plan)


@dataclass
class Draft:
    """A contract's invoice being built: its priced lines and totals, then its number."""

    contract_id: int
    terms: Terms
    lines: list[tuple[Line, Decimal, Decimal, Decimal]] = field(default_factory=list)
    net: Decimal = Decimal("0.00")
    vat: Decimal = Decimal("0.00")
    gross: Decimal = Decimal("0.00")
    number: str = ""

    def add(self, line: Line) -> None:
        net, vat, gross = split_vat(line.amount, line.vat_rate, self.terms.prices_include_vat)
        self.lines.append((line, net, vat, gross))
        self.net += net
        self.vat += vat
        self.gross += gross


class LinesFailed(Exception):
    """A plugin's `abonent_invoice_lines` raised or returned something unusable."""

    def __init__(self, plugin: str, error: Exception):
        super().__init__(f"plugin {plugin}: {error}")
        self.plugin = plugin


# --- input ---------------------------------------------------------------------------------

def parse_period(value: Any, field_name: str = "period") -> date:
    """The first day of the month written as YYYY-MM (or given as that date)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        if value.day != 1:
            raise ValidationError(field_name, f"{value} is not the first day of a month")
        return value
    text_value = inputs.text(value, field_name, max_len=20)
    match = re.fullmatch(r"(\d{4})-(\d{2})", text_value)
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValidationError(field_name, f"{text_value!r} is not a month (YYYY-MM)")
    return date(int(match[1]), int(match[2]), 1)


def month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


# --- numbers -------------------------------------------------------------------------------

@dataclass
class _Run:
    """A run's fixed inputs and its report, shared by its windows. `floor`: the first
    month any invoice exists for (None before the first run); uninvoiced charges from it
    up to the run's month are corrections."""

    runtime: Runtime
    first: date
    last: date
    contract_id: int | None
    terms: dict[int, Terms]
    plugins: list[str]
    report: RunReport
    floor: date | None = None

    def billable(self) -> ColumnElement:
        """The charges this run puts on an invoice: not on one yet, of the run's month,
        or of an earlier month since invoicing began (corrections)."""
        since = self.first if self.floor is None else min(self.floor, self.first)
        return and_(Charge.invoice_id.is_(None), Charge.period_start >= since,
                    Charge.period_start <= self.last)

    @property
    def everyone(self) -> bool:
        """A plugin may add lines to any contract, so every contract is looked at."""
        return bool(self.plugins)


# --- choosing contracts --------------------------------------------------------------------

def _serialise(session: Session) -> None:
    """Wait for any other run's batch to commit before picking contracts, so this batch
    sees its invoices, and keep charges from being written while it sums and links them
    (see the module's docstring). SQLite's transactions already begin with the write lock."""
    if session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        session.execute(text("LOCK TABLE charge IN SHARE ROW EXCLUSIVE MODE"))


def _due(contract_id, run: "_Run") -> ColumnElement:
    """Whether the contract with id `contract_id` (a column) is to be invoiced: it has no
    invoice for the month yet, and billable charges (any contract, when a plugin may add
    lines). Batches apply the same rule in two steps (see `_next_window`, `_drafts`)."""
    due = ~exists().where(Invoice.contract_id == contract_id, Invoice.period_start == run.first)
    if run.everyone:
        return due
    return and_(due, exists().where(Charge.contract_id == contract_id, run.billable()))


def _among(column, ids) -> ColumnElement:
    return column.in_(inline_ids(f"{column.name}_ids", ids))


def _next_window(session: Session, run: _Run, after: int, size: int
                 ) -> tuple[int | None, dict[int, int]]:
    """The next `size` contracts after id `after`, in id order: the last id among them
    (None when none is left), and those without an invoice for the month as
    {contract id: operator id}.

    A window of ids, then the invoices among them: a batch costs `size` index look-ups
    whatever the planner believes (an anti-join, planned on statistics taken before the
    run, would scan the invoices of every earlier batch)."""
    query = select(Contract.id, Contract.operator_id).where(Contract.id > after)
    if run.contract_id is not None:
        query = query.where(Contract.id == run.contract_id)
    window = session.execute(query.order_by(Contract.id).limit(size)).all()
    if not window:
        return None, {}
    invoiced = set(session.scalars(select(Invoice.contract_id).where(
        _among(Invoice.contract_id, [contract_id for contract_id, _ in window]),
        Invoice.period_start == run.first)))
    return window[-1][0], {contract_id: operator_id for contract_id, operator_id in window
                           if contract_id not in invoiced}


def _check_plans(session: Session, run: _Run) -> None:
    """Refuse up front when a contract to invoice belongs to an operator without an
    invoice number plan, rather than after some windows are committed."""
    planless = [t.operator_id for t in run.terms.values() if t.plan is None]
    if not planless:
        return
    query = select(Contract.number).where(Contract.operator_id.in_(planless),
                                          _due(Contract.id, run))
    if run.contract_id is not None:
        query = query.where(Contract.id == run.contract_id)
    number = session.scalar(query.limit(1))
    if number is not None:
        raise ValidationError("invoice_plan_id", f"the operator of contract {number} has no "
                                                 f"invoice number plan")


# --- building lines ------------------------------------------------------------------------

def _charge_lines(session: Session, batch: dict[int, int], run: _Run) -> dict[int, list[Line]]:
    """The core lines of every contract of the batch: one GROUP BY over their billable
    charges (by day for the corrections, few, which are then summed by month here): the
    month's lines, then a correction line per earlier month and service."""
    signed = case((Charge.kind == "refund", -func.coalesce(Charge.quantity, 1)),
                  else_=func.coalesce(Charge.quantity, 1))
    kind = case((Charge.service_id.is_(None), Charge.kind)).label("line_kind")
    late = case((Charge.period_start < run.first, Charge.period_start)).label("late_day")
    rows = session.execute(
        select(Charge.contract_id, late, Charge.service_id, kind, func.sum(Charge.amount),
               type_coerce(func.sum(signed), Rate()))
        .where(_among(Charge.contract_id, batch), run.billable())
        .group_by(Charge.contract_id, late, Charge.service_id, kind)).all()
    service_ids = {row[2] for row in rows if row[2] is not None}
    services = {row.id: row for row in session.execute(
        select(Service.id, Service.name, Service.kind, Unit.name.label("unit"))
        .outerjoin(Unit, Unit.id == Service.unit_id)
        .where(_among(Service.id, service_ids)))} if service_ids else {}
    sums: dict[tuple, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for contract_id, late_day, service_id, charge_kind, amount, quantity in rows:
        month = None if late_day is None else late_day.replace(day=1)
        total = sums[contract_id, month, service_id, charge_kind]
        total[0] += amount
        total[1] += quantity
    lines: dict[int, list[Line]] = defaultdict(list)
    for (contract_id, month, service_id, charge_kind), (amount, quantity) in sums.items():
        rate = run.terms[batch[contract_id]].vat_rate
        correction = "" if month is None else f"Correction for {month:%Y-%m}: "
        if service_id is None:
            lines[contract_id].append(Line(correction + WITHOUT_SERVICE[charge_kind], quantity,
                                           None, amount, rate))
            continue
        service = services[service_id]
        unit = service.unit if service.kind == "counter" else UNITS.get(service.kind)
        lines[contract_id].append(Line(correction + service.name, quantity, unit, amount, rate,
                                       service_id))
    for contract_lines in lines.values():
        contract_lines.sort(key=lambda line: (line.description.startswith("Correction for "),
                                              line.service_id is None, line.description,
                                              line.service_id or 0))
    return lines


def _draft_line(draft: Any, plugin: str, index: int, terms: Terms) -> Line:
    where = f"lines.{index}"
    if not isinstance(draft, InvoiceLineDraft):
        raise ValidationError(where, f"must be an InvoiceLineDraft, not {type(draft).__name__}")
    rate = terms.vat_rate if draft.vat_rate is None else to_decimal(
        draft.vat_rate, f"{where}.vat_rate", places=RATE_PLACES)
    if rate >= HUNDRED:
        raise ValidationError(f"{where}.vat_rate", "must be a percentage below 100")
    return Line(
        description=inputs.text(draft.description, f"{where}.description", max_len=300),
        quantity=to_decimal(draft.quantity, f"{where}.quantity", places=RATE_PLACES,
                            allow_negative=True),
        unit=inputs.text(draft.unit, f"{where}.unit", required=False, max_len=30),
        amount=round_money(to_decimal(draft.amount, f"{where}.amount", places=RATE_PLACES,
                                      allow_negative=True)),
        vat_rate=rate, source=plugin)


def _plugin_lines(session: Session, runtime: Runtime, plugins: list[str], contract: Contract,
                  first: date, last: date, terms: Terms) -> list[Line]:
    """Every plugin's lines for one contract, or `LinesFailed` naming the plugin."""
    lines: list[Line] = []
    for plugin in plugins:
        try:
            drafts = runtime.pm.call_one(HOOK, plugin, session=session, contract=contract,
                                         period_start=first, period_end=last)
            lines.extend(_draft_line(draft, plugin, i, terms)
                         for i, draft in enumerate(drafts or []))
        except Exception as exc:
            raise LinesFailed(plugin, exc) from exc
    return lines


# --- one window -----------------------------------------------------------------------------

def _drafts(session: Session, run: _Run, batch: dict[int, int]) -> list[Draft]:
    core_lines = _charge_lines(session, batch, run)
    contracts: dict[int, Contract] = {}
    if run.plugins:
        contracts = {c.id: c for c in session.scalars(select(Contract).where(
            _among(Contract.id, batch)))}
    drafts = []
    for contract_id, operator_id in batch.items():
        draft = Draft(contract_id, run.terms[operator_id])
        lines = core_lines.get(contract_id, [])
        if run.plugins:
            try:
                with session.begin_nested():  # a failing plugin's own writes go too
                    lines = lines + _plugin_lines(session, run.runtime, run.plugins,
                                                  contracts[contract_id], run.first, run.last,
                                                  draft.terms)
            except LinesFailed as exc:
                log.warning("invoice of contract %s not issued: %s", contract_id, exc)
                run.report.failed.append({"contract_id": contract_id, "error": str(exc)})
                continue
        if lines:
            for line in lines:
                draft.add(line)
            drafts.append(draft)
    return drafts


def _number(session: Session, drafts: list[Draft]) -> None:
    """Give the drafts their numbers, one block per number plan, in contract order."""
    by_plan: dict[int, list[Draft]] = defaultdict(list)
    for draft in drafts:
        by_plan[draft.terms.plan.id].append(draft)
    for plan_drafts in by_plan.values():
        terms = plan_drafts[0].terms
        numbers = next_numbers(session, terms.plan, today(terms.timezone), len(plan_drafts))
        for draft, number in zip(plan_drafts, numbers):
            draft.number = number


def _write(session: Session, run: _Run, drafts: list[Draft]) -> None:
    """Insert the invoices, their lines and their `invoice_issued` events."""
    at = now()
    invoice_of = {contract_id: invoice_id for invoice_id, contract_id in insert_rows(
        session, Invoice,
        [{"number": d.number, "contract_id": d.contract_id, "operator_id": d.terms.operator_id,
          "period_start": run.first, "period_end": run.last, "currency": d.terms.currency,
          "net": d.net, "vat": d.vat, "gross": d.gross, "issued_at": at} for d in drafts],
        returning=("id", "contract_id"))}
    insert_rows(session, InvoiceLine, [
        {"invoice_id": invoice_of[draft.contract_id], "position": position,
         "description": line.description, "service_id": line.service_id, "source": line.source,
         "quantity": line.quantity, "unit": line.unit, "net": net, "vat_rate": line.vat_rate,
         "vat": vat, "gross": gross}
        for draft in drafts
        for position, (line, net, vat, gross) in enumerate(draft.lines, start=1)])
    session.execute(
        update(Charge).where(_among(Charge.contract_id, invoice_of), run.billable())
        .values(invoice_id=select(Invoice.id).where(Invoice.contract_id == Charge.contract_id,
                                                    Invoice.period_start == run.first)
                .scalar_subquery()),
        execution_options={"synchronize_session": False})
    emit_many(session, [
        ("invoice_issued",
         {"invoice": {"id": invoice_of[d.contract_id], "number": d.number,
                      "contract_id": d.contract_id, "period_start": run.first,
                      "period_end": run.last, "net": d.net, "vat": d.vat, "gross": d.gross}},
         None, d.contract_id, ())
        for d in drafts])
    audit(session, "issue", "invoice_run", f"{run.first:%Y-%m}",
          {"count": len(drafts), "first": drafts[0].number, "last": drafts[-1].number})


def _report(run: _Run, drafts: list[Draft]) -> None:
    report = run.report
    for draft in drafts:
        report.totals.setdefault(draft.terms.currency, Totals()).add(draft.net, draft.vat,
                                                                     draft.gross)
        if len(report.examples) < EXAMPLES:
            report.examples.append({
                "number": draft.number, "contract_id": draft.contract_id,
                "currency": draft.terms.currency, "net": str(draft.net),
                "vat": str(draft.vat), "gross": str(draft.gross),
                "lines": [{"description": line.description, "quantity": str(line.quantity),
                           "unit": line.unit, "net": str(n), "vat_rate": str(line.vat_rate),
                           "vat": str(v), "gross": str(g)}
                          for line, n, v, g in draft.lines]})
    report.issued += len(drafts)
    report.first_number = report.first_number or drafts[0].number
    report.last_number = drafts[-1].number


def _window(session: Session, run: _Run, after: int, size: int) -> int | None:
    """Issue the invoices due among the next `size` contracts after id `after`; returns
    the last id looked at, or None when none is left."""
    _serialise(session)
    last, batch = _next_window(session, run, after, size)
    drafts = _drafts(session, run, batch) if batch else []
    if drafts:
        _number(session, drafts)
        _write(session, run, drafts)
        _report(run, drafts)
    return last


# --- the run -------------------------------------------------------------------------------

def _prepare(session: Session, runtime: Runtime, first: date, contract_id: Any,
             report: RunReport, close_early: bool) -> _Run:
    if contract_id is not None:
        contract_id = inputs.fetch(session, Contract, contract_id, "contract_id").id
    _check_ended(session, report, close_early)
    plugins = [impl.plugin_name for impl in reversed(runtime.pm.impls(HOOK))]
    terms = {op.id: Terms.of(session, op) for op in session.scalars(select(Operator))}
    run = _Run(runtime, first, report.period_end, contract_id, terms, plugins, report,
               session.scalar(select(func.min(Invoice.period_start))))
    _check_plans(session, run)
    return run


def _check_ended(session: Session, report: RunReport, close_early: bool) -> None:
    """Refuse a month that has not begun, and one that has not ended in the operator's
    time zone (its usage and charges are still coming) unless the operator closes it
    early on purpose; a dry run may look at the current month. Closing early is
    audited; what lands in the month later is corrected on the next invoice."""
    day = operator_today(session)
    if report.period_start > day:
        raise ValidationError("period", f"{report.period_start:%Y-%m} has not begun")
    if report.dry_run or report.period_end < day:
        return
    if not close_early:
        raise ValidationError("period", f"{report.period_start:%Y-%m} has not ended (its last "
                                        f"day is {report.period_end}); invoice it from "
                                        f"{report.period_end + timedelta(days=1)} on, or close "
                                        f"it early on purpose")
    audit(session, "close_early", "invoice_run", f"{report.period_start:%Y-%m}",
          {"period_end": report.period_end})


def _run_windows(open_session: Callable[[], ContextManager[Session]], run: _Run,
                 batch_size: int) -> None:
    after: int | None = 0
    while after is not None:
        with open_session() as session:
            after = _window(session, run, after, batch_size)


def _count_skipped(session: Session, run: _Run) -> None:
    query = select(func.count()).select_from(Invoice).where(Invoice.period_start == run.first)
    if run.contract_id is not None:
        query = query.where(Invoice.contract_id == run.contract_id)
    run.report.skipped = session.scalar(query) - run.report.issued


def invoice_period(runtime: Runtime, period: date, *, contract_id: Any = None,
                   dry_run: bool = False, batch_size: int = BATCH_SIZE,
                   actor: str = "system", close_early: Any = False) -> RunReport:
    """Issue the invoices of the month starting on `period` (its first day), for every
    contract or only `contract_id`; a month that has not ended only with `close_early`.
    See the module's docstring for the rules."""
    close_early = inputs.boolean(close_early, "close_early")
    first = parse_period(period)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValidationError("batch_size", "must be a whole number of at least 1")
    report = RunReport(first, month_end(first), dry_run)
    if dry_run:
        with runtime.session(actor=actor, commit=False) as session:
            run = _prepare(session, runtime, first, contract_id, report, close_early)
            _run_windows(lambda: nullcontext(session), run, batch_size)
            _count_skipped(session, run)
        return report
    with runtime.session(actor=actor) as session:
        run = _prepare(session, runtime, first, contract_id, report, close_early)
    _run_windows(lambda: runtime.session(actor=actor), run, batch_size)
    with runtime.session(actor=actor) as session:
        _count_skipped(session, run)
    if report.issued:
        log.info("invoices for %s: %d issued (%s … %s)", f"{first:%Y-%m}", report.issued,
                 report.first_number, report.last_number)
    return report


# --- looking invoices up -------------------------------------------------------------------

def find_invoice(session: Session, number: Any, field_name: str = "number") -> Invoice:
    value = inputs.text(number, field_name, max_len=50)
    invoice = session.scalars(select(Invoice).where(Invoice.number == value)).first()
    if invoice is None:
        raise NotFound(field_name, f"no invoice numbered {value}")
    return invoice


def list_invoices(session: Session, *, period: Any = None, contract_id: Any = None,
                  limit: int = 50) -> list[tuple[Invoice, str]]:
    """Invoices, newest first, each with its contract's number."""
    query = (select(Invoice, Contract.number).join(Contract, Contract.id == Invoice.contract_id)
             .order_by(Invoice.id.desc()).limit(inputs.integer(limit, "limit")))
    if period is not None:
        query = query.where(Invoice.period_start == parse_period(period))
    if contract_id is not None:
        query = query.where(Invoice.contract_id == inputs.integer(contract_id, "contract_id"))
    return [(invoice, number) for invoice, number in session.execute(query)]
