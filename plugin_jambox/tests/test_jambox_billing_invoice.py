"""Invoicing the imported events (SGT's manual 4.3) through the core's monthly run: the
events of the month go onto the customer's invoice with the internet services, or onto
an invoice of their own; each line carries the event's VAT; an event is never on two
invoices; the "suspend TV invoicing" switch holds the events back from the next run.
The money of every line and invoice is asserted."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal as D

import pytest
from sqlalchemy import select

import plugin_jambox.plugin
from core import clock
from core.invoicing import invoice_period
from core.ledger import add_charge
from core.models import Invoice
from plugin_jambox import store
from plugin_jambox.billing_import import import_events
from plugin_jambox.billing_list import EventFilter, list_events
from plugin_jambox.billing_models import BillingEvent

NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)


class FailingLines:
    """Another plugin whose lines fail for one contract: that contract's invoice is not
    issued, with what the other plugins' lines did in its savepoint."""

    contract_id = None

    def abonent_invoice_lines(self, session, contract, period_start, period_end):
        if contract.id == self.contract_id:
            raise RuntimeError("the other platform is down")
        return None


@pytest.fixture
def failing():
    return FailingLines()


@pytest.fixture
def abonent_plugins(failing):
    return [("jambox", plugin_jambox.plugin), ("other", failing)]


def issue(runtime, period: date, **kwargs):
    """The run on the 1st of the next month at 02:00, as the scheduler makes it."""
    after = date(period.year + period.month // 12, period.month % 12 + 1, 1)
    with clock.frozen(datetime(after.year, after.month, 1, 2, tzinfo=timezone.utc)):
        return invoice_period(runtime, period, **kwargs)


def invoice_of(runtime, contract_id: int, period: date = NOV):
    """(net, vat, gross), [(description, net, vat rate, vat, gross, source)] or None."""
    with runtime.session() as s:
        invoice = s.scalars(select(Invoice).where(Invoice.contract_id == contract_id,
                                                  Invoice.period_start == period)).first()
        if invoice is None:
            return None
        return ((invoice.net, invoice.vat, invoice.gross),
                [(line.description, line.net, line.vat_rate, line.vat, line.gross, line.source)
                 for line in invoice.lines])


def invoices_of_events(runtime) -> dict[str, str | None]:
    """Description → the number of the invoice the event is on."""
    with runtime.session() as s:
        return {description: number for description, number in s.execute(
            select(BillingEvent.description, Invoice.number)
            .outerjoin(Invoice, Invoice.id == BillingEvent.invoice_id))}


@pytest.fixture
def internet(billing):
    """A contract with an internet charge of 300.00 in November (operator: VAT 20%,
    prices with VAT) and its SMS customer: TV events on Nov 5 and 20 and Dec 2."""
    factory = billing.factory
    service = factory.service(name="Internet 100")
    customer = billing.customer()
    contract = customer[0]
    with billing.runtime.session() as s:
        add_charge(s, key=f"net:{contract.id}", contract_id=contract.id, amount=D("300.00"),
                   kind="manual", period_start=date(2026, 11, 15),
                   period_end=date(2026, 11, 15), service_id=service.id)
    billing.event(customer, date(2026, 11, 5), "65.00", desc="Pakiet Wielotematyczny 65")
    billing.event(customer, date(2026, 11, 20), "19.90", desc="HBO", package_id=201)
    billing.event(customer, date(2026, 12, 2), "95.00", desc="Pakiet Rodzinny HD",
                  package_id=102)
    import_events(billing.runtime, NOV, date(2026, 12, 5))
    return customer


TV_NOV = [("Pakiet Wielotematyczny 65", D("52.85"), D("23"), D("12.15"), D("65.00"), "jambox"),
          ("HBO", D("16.18"), D("23"), D("3.72"), D("19.90"), "jambox")]


def test_the_months_events_join_the_internet_invoice_with_their_own_vat(billing, internet):
    report = issue(billing.runtime, NOV)

    assert report.issued == 1
    totals, lines = invoice_of(billing.runtime, internet[0].id)
    assert lines == [("Internet 100", D("250.00"), D("20"), D("50.00"), D("300.00"), "core"),
                     *TV_NOV]
    assert totals == (D("319.03"), D("65.87"), D("384.90"))
    number = report.first_number
    assert invoices_of_events(billing.runtime) == {
        "Pakiet Wielotematyczny 65": number, "HBO": number, "Pakiet Rodzinny HD": None}


def test_a_customer_with_tv_only_gets_an_invoice_of_its_own(billing):
    tv_only = billing.customer()
    nothing = billing.factory.contract()  # no charges, no events: no invoice
    billing.event(tv_only, date(2026, 11, 30), "95.00", desc="Pakiet Rodzinny HD")
    billing.event(tv_only, date(2026, 11, 30), "-10.00", desc="Korekta", vat="0.08")
    import_events(billing.runtime, NOV, date(2026, 11, 30))

    report = issue(billing.runtime, NOV)

    assert report.issued == 1
    totals, lines = invoice_of(billing.runtime, tv_only[0].id)
    assert lines == [("Pakiet Rodzinny HD", D("77.24"), D("23"), D("17.76"), D("95.00"), "jambox"),
                     ("Korekta", D("-9.26"), D("8"), D("-0.74"), D("-10.00"), "jambox")]
    assert totals == (D("67.98"), D("17.02"), D("85.00"))
    assert invoice_of(billing.runtime, nothing.id) is None


def test_no_event_is_ever_on_two_invoices(billing, internet):
    """Nov twice, then Dec: the Nov events once, Dec's and a late Nov event (imported after
    Nov was invoiced) on Dec's invoice."""
    first = issue(billing.runtime, NOV)
    again = issue(billing.runtime, NOV)
    assert (first.issued, again.issued) == (1, 0)
    billing.event(internet, date(2026, 11, 28), "9.90", desc="Filmbox", package_id=202)
    import_events(billing.runtime, date(2026, 11, 28), date(2026, 11, 28))

    december = issue(billing.runtime, DEC)

    assert december.issued == 1
    totals, lines = invoice_of(billing.runtime, internet[0].id, DEC)
    assert lines == [("Filmbox", D("8.05"), D("23"), D("1.85"), D("9.90"), "jambox"),
                     ("Pakiet Rodzinny HD", D("77.24"), D("23"), D("17.76"), D("95.00"), "jambox")]
    assert totals == (D("85.29"), D("19.61"), D("104.90"))
    assert invoices_of_events(billing.runtime) == {
        "Pakiet Wielotematyczny 65": first.first_number, "HBO": first.first_number,
        "Pakiet Rodzinny HD": december.first_number, "Filmbox": december.first_number}
    assert issue(billing.runtime, DEC).issued == 0


def test_suspended_tv_invoicing_holds_the_events_back_from_the_next_run(billing, internet):
    contract = internet[0]
    with billing.runtime.session() as s:
        store.set_invoicing_suspended(s, contract.id, True)

    issue(billing.runtime, NOV)

    totals, lines = invoice_of(billing.runtime, contract.id)
    assert lines == [("Internet 100", D("250.00"), D("20"), D("50.00"), D("300.00"), "core")]
    with billing.runtime.session() as s:
        waiting = list_events(s, EventFilter.of(uninvoiced=True, contract_id=contract.id))
    assert [(row.description, row.gross, row.invoice_number) for row in waiting] == [
        ("Pakiet Wielotematyczny 65", D("65.00"), None), ("HBO", D("19.90"), None),
        ("Pakiet Rodzinny HD", D("95.00"), None)]

    with billing.runtime.session() as s:
        store.set_invoicing_suspended(s, contract.id, False)
    issue(billing.runtime, DEC)

    totals, lines = invoice_of(billing.runtime, contract.id, DEC)
    assert [line[0] for line in lines] == ["Pakiet Wielotematyczny 65", "HBO",
                                           "Pakiet Rodzinny HD"]
    assert totals == (D("146.27"), D("33.63"), D("179.90"))


def test_a_dry_run_marks_no_event(billing, internet):
    report = issue(billing.runtime, NOV, dry_run=True)

    assert [line["description"] for line in report.examples[0]["lines"]] == [
        "Internet 100", "Pakiet Wielotematyczny 65", "HBO"]
    assert set(invoices_of_events(billing.runtime).values()) == {None}
    assert issue(billing.runtime, NOV).issued == 1


def test_an_invoice_another_plugin_aborts_leaves_its_events_for_the_next_run(billing, internet,
                                                                             failing):
    failing.contract_id = internet[0].id

    report = issue(billing.runtime, NOV)

    assert report.issued == 0 and report.failed[0]["contract_id"] == internet[0].id
    assert set(invoices_of_events(billing.runtime).values()) == {None}
    failing.contract_id = None
    assert issue(billing.runtime, NOV).issued == 1
    assert invoice_of(billing.runtime, internet[0].id)[0] == (D("319.03"), D("65.87"),
                                                              D("384.90"))


def test_an_operator_whose_prices_exclude_vat_gets_the_net_worked_back(billing):
    """SGT's price is gross: the line's net is worked back from it and the core adds the
    event's VAT to the net again, so a line may differ from SGT's gross by a cent."""
    from core.models import Operator
    with billing.runtime.session() as s:
        for operator in s.scalars(select(Operator)):
            operator.prices_include_vat = False
    tv_only = billing.customer()
    billing.event(tv_only, date(2026, 11, 30), "65.00", desc="Pakiet Wielotematyczny 65")
    billing.event(tv_only, date(2026, 11, 30), "95.00", desc="Pakiet Rodzinny HD")
    import_events(billing.runtime, NOV, date(2026, 11, 30))

    issue(billing.runtime, NOV)

    totals, lines = invoice_of(billing.runtime, tv_only[0].id)
    assert lines == [
        ("Pakiet Wielotematyczny 65", D("52.85"), D("23"), D("12.16"), D("65.01"), "jambox"),
        ("Pakiet Rodzinny HD", D("77.24"), D("23"), D("17.77"), D("95.01"), "jambox")]
    assert totals == (D("130.09"), D("29.93"), D("160.02"))


def test_history_from_before_invoicing_began_is_not_swept_onto_the_first_invoice(billing):
    """Events of September imported when the billing was set up (billed by the system
    before it): the first run, November's, leaves them to their own month's run; October
    run later takes October's."""
    tv_only = billing.customer()
    billing.event(tv_only, date(2026, 9, 10), "65.00", desc="September")
    billing.event(tv_only, date(2026, 10, 10), "65.00", desc="October")
    billing.event(tv_only, date(2026, 11, 10), "19.90", desc="November")
    import_events(billing.runtime, date(2026, 9, 1), date(2026, 11, 30))

    november = issue(billing.runtime, NOV)
    october = issue(billing.runtime, date(2026, 10, 1))

    assert [line[0] for line in invoice_of(billing.runtime, tv_only[0].id)[1]] == ["November"]
    assert [line[0] for line in invoice_of(billing.runtime, tv_only[0].id,
                                           date(2026, 10, 1))[1]] == ["October"]
    assert invoices_of_events(billing.runtime) == {
        "September": None, "October": october.first_number, "November": november.first_number}
