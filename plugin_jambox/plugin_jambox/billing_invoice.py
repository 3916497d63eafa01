"""Invoicing the billing events, through the core's `abonent_invoice_lines` (SGT's manual,
4.3: the events go onto the customer's invoice together with the internet services, or
onto an invoice of their own for a customer with TV only).

The core's invoice run asks every contract without its invoice of the month for plugin
lines (core.invoicing), so a contract whose only lines are TV events gets an invoice
too: nothing more is needed for the "TV only" customers.

A contract's lines are its events not invoiced yet whose selling day is in the month, or
in an earlier month since invoicing began (one imported late, or kept back while its
customer's TV invoicing was suspended, goes on the next invoice) — the core's rule for its
own late charges: events of months before the first invoice (history imported when the
billing was set up, billed by the system before it) are left to their own month's run,
never swept onto the first invoice. One line per event: SGT's description, the gross
price (or, for an operator whose prices exclude VAT, the net worked back from it, which
the core rounds to the cent and adds the VAT to again) and the event's own VAT rate.

An event is never on two invoices: the events given as lines are remembered on the run's
session, and when that transaction commits (the core has then written the contract's
invoice) they get its id, in the same transaction (`before_commit`). An invoice that was
not written after all (another plugin's lines failed for the contract: the core rolls
back to a savepoint) leaves its events without an invoice, for the next run. A dry run is
rolled back and marks nothing.

A contract whose TV invoicing is suspended (plugin_jambox.store, set by the operator) adds
no lines: from the next run on, its events wait, listed as not invoiced.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import Contract, Invoice, InvoiceLineDraft
from plugin_jambox.billing_models import BillingEvent
from plugin_jambox.store import invoicing_suspended

#: session.info key: [(period start, [event id, …]), …] given as lines in this transaction
CLAIMS = "jambox_billing_claims"
#: session.info key: the first month invoiced, as this transaction found it
FLOOR = "jambox_billing_floor"
CHUNK = 900
CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def _net(gross: Decimal, vat: Decimal) -> Decimal:
    return (gross / (1 + vat)).quantize(CENT, ROUND_HALF_UP)


def invoice_lines(session: Session, contract: Contract, period_start: date,
                  period_end: date) -> list[InvoiceLineDraft] | None:
    """The contract's TV lines for the month (see the module's docstring)."""
    if invoicing_suspended(session, contract.id):
        return None
    floor = _first_invoiced_month(session)
    since = period_start if floor is None else min(floor, period_start)
    rows = session.execute(
        select(BillingEvent.id, BillingEvent.description, BillingEvent.vat, BillingEvent.gross)
        .where(BillingEvent.contract_id == contract.id, BillingEvent.invoice_id.is_(None),
               BillingEvent.selling_date >= since, BillingEvent.selling_date <= period_end)
        .order_by(BillingEvent.selling_date, BillingEvent.sms_id)).all()
    if not rows:
        return None
    _claim(session, period_start, [row.id for row in rows])
    gross_prices = contract.operator.prices_include_vat
    return [InvoiceLineDraft(description=row.description,
                             amount=row.gross if gross_prices else _net(row.gross, row.vat),
                             quantity=Decimal(1), vat_rate=row.vat * HUNDRED)
            for row in rows]


def _first_invoiced_month(session: Session) -> date | None:
    """The first month any invoice exists for (None before the first run), read once a
    transaction (the run asks for every contract of a window in one)."""
    if FLOOR not in session.info:
        session.info[FLOOR] = session.scalar(select(func.min(Invoice.period_start)))
    return session.info[FLOOR]


def _claim(session: Session, period_start: date, event_ids: list[int]) -> None:
    if not sa_event.contains(session, "before_commit", _mark_invoiced):
        sa_event.listen(session, "before_commit", _mark_invoiced)
    session.info.setdefault(CLAIMS, []).append((period_start, event_ids))


def _mark_invoiced(session: Session) -> None:
    """Give the claimed events the id of their contract's invoice of the month, written
    in this transaction (none, when it was not: they stay for the next run). Called for
    a savepoint's release too (the core's savepoint around the plugins' lines), when
    the invoice is not written yet: only the outermost commit counts."""
    if session.in_nested_transaction():
        return
    session.info.pop(FLOOR, None)
    by_period: dict[date, list[int]] = defaultdict(list)
    for period_start, event_ids in session.info.pop(CLAIMS, []):
        by_period[period_start].extend(event_ids)
    for period_start, event_ids in by_period.items():
        invoice = (select(Invoice.id).where(Invoice.contract_id == BillingEvent.contract_id,
                                            Invoice.period_start == period_start)
                   .scalar_subquery())
        for start in range(0, len(event_ids), CHUNK):
            session.execute(
                update(BillingEvent)
                .where(BillingEvent.id.in_(event_ids[start:start + CHUNK]),
                       BillingEvent.invoice_id.is_(None))
                .values(invoice_id=invoice),
                execution_options={"synchronize_session": False})
