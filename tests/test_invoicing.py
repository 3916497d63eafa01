"""Invoicing: lines from a month of real charges, VAT in both conventions, plugin lines,
gapless numbers, idempotent and dry runs, events, the documents, concurrent runs on
PostgreSQL and the command line."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from core import InvoiceLineDraft, NotFound, ValidationError, clock
from core.billing_day import run_day
from core.documents import render_csv, render_html
from core.invoicing import invoice_period, list_invoices, parse_period, split_vat
from core.ledger import add_charge
from core.models import AuditEntry, Invoice, NumberCounter, NumberPlan, OutboxEvent, Subscription
from core.numbering import next_number
from core.services import subscriptions
from plugins.testing import RecordingPlugin
from support import cli_runner

UTC = timezone.utc
MAY, JUNE = date(2024, 5, 1), date(2024, 6, 1)
D = Decimal


class LinesPlugin:
    """Adds `lines[contract_id]` to that contract's invoice; raises for `failing` ones
    after writing a row, to show a failed contract's writes are undone."""

    def __init__(self):
        self.lines: dict[int, list] = {}
        self.failing: set[int] = set()

    def abonent_invoice_lines(self, session, contract, period_start, period_end):
        if contract.id in self.failing:
            session.add(AuditEntry(actor="extras", action="half-done", object_type="contract",
                                   object_id=str(contract.id), changes={}))
            session.flush()
            raise RuntimeError("platform down")
        return self.lines.get(contract.id)


@pytest.fixture
def listener():
    return RecordingPlugin()


@pytest.fixture
def abonent_plugins(request, listener):
    plugins = [("listener", listener)]
    if "lines_plugin" in request.fixturenames:
        plugins.append(("extras", request.getfixturevalue("lines_plugin")))
    return plugins


@pytest.fixture
def lines_plugin():
    return LinesPlugin()


@pytest.fixture
def catalog(factory):
    return {
        "internet": factory.service("Internet", price="300.00", method="monthly"),
        "phone": factory.service("Phone", price="300.00", method="monthly"),
        "tv": factory.service("TV", price="10.00", method="daily"),
        "connection": factory.service("Connection", kind="one_time", price="500.00"),
        "wialon": factory.service("Wialon objects", kind="counter", price="0", method=None,
                                  price_per_unit=D("3"), unit_id=5),
    }


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def run_days(runtime, first: date, last: date) -> None:
    day = first
    while day <= last:
        with clock.frozen(at(day, 0)), runtime.session() as s:
            run_day(s, day)
        day += timedelta(days=1)


def issue(runtime, period: date = MAY, **kwargs):
    """The run on the 1st of the next month at 02:00, as the scheduler does it."""
    with clock.frozen(at(next_month(period), 2)):
        return invoice_period(runtime, period, **kwargs)


def charge(runtime, contract_id: int, service_id: int | None, amount: str, *, key: str,
           quantity: str | None = None, day: date = date(2024, 5, 15), kind: str = "usage"):
    """One charge through the ledger (a usage charge, as rating writes it, by default)."""
    with runtime.session() as s:
        add_charge(s, key=key, contract_id=contract_id, amount=D(amount), kind=kind,
                   period_start=day, period_end=day, service_id=service_id,
                   quantity=None if quantity is None else D(quantity))


def invoice_of(runtime, contract_id: int, period: date = MAY) -> Invoice | None:
    with runtime.session() as s:
        invoice = s.scalars(select(Invoice).where(Invoice.contract_id == contract_id,
                                                  Invoice.period_start == period)).first()
        if invoice is not None:
            invoice.lines  # loaded while the session is open
        return invoice


def rows(invoice: Invoice) -> list[tuple]:
    return [(line.description, line.quantity, line.unit, line.net, line.vat, line.gross)
            for line in invoice.lines]


def charged_contract(runtime, factory, amount: str = "18.00", **contract_terms):
    """A contract with one manual charge (no service) of `amount` in May."""
    contract = factory.contract(**contract_terms)
    charge(runtime, contract.id, None, amount, key=f"u:{contract.id}", kind="manual")
    return contract


# --- lines ---------------------------------------------------------------------------------

def test_a_month_of_charges_becomes_one_line_per_service(runtime, factory, catalog):
    contract = factory.contract(credit_limit="100000")
    home = factory.tariff(base=[catalog["internet"], catalog["tv"], catalog["connection"]])
    first = factory.account(contract=contract, tariff=home, start_on=MAY)
    factory.account(contract=contract, tariff=factory.tariff(base=[catalog["phone"]]),
                    start_on=date(2024, 5, 11))
    run_days(runtime, MAY, date(2024, 5, 19))
    with clock.frozen(at(date(2024, 5, 20))), runtime.session() as s:
        internet = s.scalars(select(Subscription.id).where(
            Subscription.account_id == first.id,
            Subscription.service_id == catalog["internet"].id)).one()
        subscriptions.remove(s, internet)  # its last day is the 20th: 11 days refunded
    run_days(runtime, date(2024, 5, 20), JUNE)  # June 1 is not May's
    charge(runtime, contract.id, catalog["wialon"].id, "18.00", key="wialon:777:1", quantity="6")
    charge(runtime, contract.id, None, "50.00", key="manual:1", kind="manual")

    report = issue(runtime)

    assert (report.issued, report.skipped, report.failed) == (1, 0, [])
    invoice = invoice_of(runtime, contract.id)
    assert rows(invoice) == [
        ("Connection", D("1"), "pcs", D("416.67"), D("83.33"), D("500.00")),
        ("Internet", D("20"), "days", D("161.29"), D("32.26"), D("193.55")),  # 300 − 106.45
        ("Phone", D("21"), "days", D("169.36"), D("33.87"), D("203.23")),     # 300 × 21/31
        ("TV", D("31"), "days", D("258.33"), D("51.67"), D("310.00")),
        ("Wialon objects", D("6"), "pcs", D("15.00"), D("3.00"), D("18.00")),
        ("Other charges", D("1"), None, D("41.67"), D("8.33"), D("50.00")),
    ]
    assert [line.position for line in invoice.lines] == [1, 2, 3, 4, 5, 6]
    assert {line.source for line in invoice.lines} == {"core"}
    assert all(line.vat_rate == D("20") for line in invoice.lines)
    assert (invoice.net, invoice.vat, invoice.gross) == (D("1062.32"), D("212.46"), D("1274.78"))
    assert (invoice.period_start, invoice.period_end) == (MAY, date(2024, 5, 31))
    assert invoice.currency == "RUB" and invoice.number == "INV-2024-00001"


def test_split_vat_rounds_half_up_per_line():
    assert split_vat(D("100.00"), D("20"), True) == (D("83.33"), D("16.67"), D("100.00"))
    assert split_vat(D("100.00"), D("20"), False) == (D("100.00"), D("20.00"), D("120.00"))
    assert split_vat(D("10.25"), D("10"), False) == (D("10.25"), D("1.03"), D("11.28"))
    assert split_vat(D("-106.45"), D("20"), True) == (D("-88.71"), D("-17.74"), D("-106.45"))
    assert split_vat(D("7.00"), D("0"), True) == (D("7.00"), D("0.00"), D("7.00"))


def test_vat_in_both_conventions(runtime, factory, lines_plugin):
    with runtime.session() as s:
        plan = NumberPlan(name="eu invoices", pattern="EU-{seq}", reset="never")
        s.add(plan)
    factory.operator()  # the default one: 20 %, prices include VAT
    net_op = factory.operator(name="EU ISP", currency="EUR", vat_rate=D("15"),
                              prices_include_vat=False, invoice_plan_id=plan.id)
    including = charged_contract(runtime, factory, "10.25")
    excluding = factory.contract(operator_id=net_op.id, number="EU-C-1")
    lines_plugin.lines[excluding.id] = [InvoiceLineDraft(f"Tracker {i}", D("0.10"))
                                        for i in range(3)]

    report = issue(runtime)

    assert report.issued == 2
    assert rows(invoice_of(runtime, including.id)) == [
        ("Other charges", D("1"), None, D("8.54"), D("1.71"), D("10.25"))]
    invoice = invoice_of(runtime, excluding.id)
    # 0.015 VAT rounds up on each line; the total is the sum of the lines (0.06, not 0.05)
    assert rows(invoice)[0] == ("Tracker 0", D("1"), None, D("0.10"), D("0.02"), D("0.12"))
    assert (invoice.net, invoice.vat, invoice.gross) == (D("0.30"), D("0.06"), D("0.36"))
    assert (invoice.currency, invoice.number, invoice.operator_id) == ("EUR", "EU-1", net_op.id)
    assert {c: (t.net, t.vat, t.gross) for c, t in report.totals.items()} == {
        "RUB": (D("8.54"), D("1.71"), D("10.25")), "EUR": (D("0.30"), D("0.06"), D("0.36"))}


# --- plugin lines --------------------------------------------------------------------------

def test_plugin_lines_join_the_invoice(runtime, factory, lines_plugin, catalog):
    charged = charged_contract(runtime, factory, "100.00")
    plugin_only = factory.contract()
    nothing = factory.contract()
    lines_plugin.lines[charged.id] = [InvoiceLineDraft("Tracker", D("12.00"), D("2"), "pcs",
                                                       vat_rate=D("0"))]
    lines_plugin.lines[plugin_only.id] = [InvoiceLineDraft("Setup <b>", D("5.005"))]

    report = issue(runtime)

    assert report.issued == 2 and report.failed == []
    invoice = invoice_of(runtime, charged.id)
    assert [(line.description, line.source, line.quantity, line.unit, line.vat_rate, line.gross,
             line.vat) for line in invoice.lines] == [
        ("Other charges", "core", D("1"), None, D("20"), D("100.00"), D("16.67")),
        ("Tracker", "extras", D("2"), "pcs", D("0"), D("12.00"), D("0.00")),
    ]
    assert invoice.gross == D("112.00")
    # 5.005 rounds to 5.01; its net 5.01 / 1.2 = 4.175 rounds half-up
    assert rows(invoice_of(runtime, plugin_only.id)) == [
        ("Setup <b>", D("1"), None, D("4.18"), D("0.83"), D("5.01"))]
    assert invoice_of(runtime, nothing.id) is None


def test_a_failing_plugin_aborts_only_that_contracts_invoice(runtime, factory, lines_plugin):
    good = charged_contract(runtime, factory)
    bad = charged_contract(runtime, factory)
    broken = charged_contract(runtime, factory)
    lines_plugin.failing.add(bad.id)
    lines_plugin.lines[broken.id] = [InvoiceLineDraft("Float", 1.5)]

    report = issue(runtime)

    assert report.issued == 1 and invoice_of(runtime, good.id) is not None
    errors = {f["contract_id"]: f["error"] for f in report.failed}
    assert errors[bad.id] == "plugin extras: platform down"
    assert "lines.0.amount" in errors[broken.id] and "float" in errors[broken.id]
    assert invoice_of(runtime, bad.id) is None and invoice_of(runtime, broken.id) is None
    with runtime.session() as s:  # the failing hook's own write was rolled back with it
        assert s.scalar(select(func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == "half-done")) == 0
    lines_plugin.failing.clear()
    del lines_plugin.lines[broken.id]
    again = issue(runtime)
    assert (again.issued, again.skipped, again.failed) == (2, 1, [])
    assert invoice_of(runtime, good.id).number == "INV-2024-00001"
    assert {invoice_of(runtime, c.id).number for c in (bad, broken)} == {
        "INV-2024-00002", "INV-2024-00003"}


# --- numbers, repeats, dry runs ------------------------------------------------------------

def test_numbers_are_sequential_and_gapless_across_runs_and_batches(runtime, factory):
    contracts = [charged_contract(runtime, factory) for _ in range(5)]
    for contract in contracts[:3]:
        charge(runtime, contract.id, None, "7.00", key=f"june:{contract.id}", kind="manual",
              day=date(2024, 6, 3))

    may = issue(runtime, MAY, batch_size=2)
    june = issue(runtime, JUNE, batch_size=2)

    assert (may.issued, may.first_number, may.last_number) == (5, "INV-2024-00001",
                                                              "INV-2024-00005")
    assert [invoice_of(runtime, c.id).number for c in contracts] == [
        f"INV-2024-0000{i}" for i in range(1, 6)]
    assert (june.issued, june.first_number, june.last_number) == (3, "INV-2024-00006",
                                                               "INV-2024-00008")
    with clock.frozen(datetime(2025, 1, 1, 2, tzinfo=UTC)):
        charge(runtime, contracts[0].id, None, "7.00", key="dec", kind="manual",
              day=date(2024, 12, 5))
        december = invoice_period(runtime, date(2024, 12, 1))
    assert december.first_number == "INV-2025-00001"  # the plan resets yearly


def test_a_second_run_issues_nothing(runtime, factory, counts):
    for _ in range(3):
        charged_contract(runtime, factory)
    assert issue(runtime).issued == 3
    before = counts()
    again = issue(runtime)
    assert (again.issued, again.skipped, again.totals) == (0, 3, {})
    assert counts() == before


def test_dry_run_writes_nothing_and_takes_no_number(runtime, factory, counts, catalog):
    contract = factory.contract()
    charge(runtime, contract.id, catalog["wialon"].id, "18.00", key="w", quantity="6")
    charged_contract(runtime, factory, "40.00")
    before = counts()
    with runtime.session() as s:
        counters = s.execute(select(NumberCounter.scope, NumberCounter.last)).all()

    report = issue(runtime, dry_run=True, batch_size=1)

    assert counts() == before
    with runtime.session() as s:
        assert s.execute(select(NumberCounter.scope, NumberCounter.last)).all() == counters
    assert (report.dry_run, report.issued, report.skipped) == (True, 2, 0)
    assert report.totals["RUB"].gross == D("58.00")
    assert report.examples[0]["number"] == "INV-2024-00001"
    assert report.examples[0]["lines"][0]["description"] == "Wialon objects"
    assert report.examples[0]["lines"][0]["gross"] == "18.00"
    real = issue(runtime)
    assert (real.issued, real.first_number) == (2, "INV-2024-00001")


def test_one_contract_on_demand(runtime, factory, counts):
    first, second = charged_contract(runtime, factory), charged_contract(runtime, factory)
    report = issue(runtime, contract_id=second.id)
    assert (report.issued, report.skipped, report.first_number) == (1, 0, "INV-2024-00001")
    assert invoice_of(runtime, first.id) is None
    again = issue(runtime, contract_id=second.id)
    assert (again.issued, again.skipped) == (0, 1)
    rest = issue(runtime)
    assert (rest.issued, rest.skipped, rest.first_number) == (1, 1, "INV-2024-00002")
    before = counts()
    with pytest.raises(NotFound) as error:
        issue(runtime, contract_id=424242)
    assert error.value.field == "contract_id"
    assert counts() == before


@pytest.mark.parametrize("period, reason", [
    (date(2024, 5, 2), "not the first day"), ("2024-13", "not a month"),
    ("May 2024", "not a month"), (None, "required"),
])
def test_bad_period_is_refused(runtime, period, reason):
    with pytest.raises(ValidationError) as error:
        invoice_period(runtime, period)
    assert error.value.field == "period" and reason in error.value.reason


def test_an_operator_without_invoice_plan_is_refused_before_anything(runtime, factory, counts):
    charged_contract(runtime, factory)
    with runtime.session() as s:
        s.execute(text("UPDATE operator SET invoice_plan_id = NULL"))
    before = counts()
    with pytest.raises(ValidationError) as error:
        issue(runtime)
    assert error.value.field == "invoice_plan_id"
    assert counts() == before


def test_parse_period():
    assert parse_period(" 2024-02 ") == date(2024, 2, 1)
    assert parse_period(date(2024, 2, 1)) == date(2024, 2, 1)


# --- events --------------------------------------------------------------------------------

def test_each_issued_invoice_is_announced(runtime, factory, listener, drain):
    contracts = [charged_contract(runtime, factory, "24.00") for _ in range(2)]
    issue(runtime)
    drain()
    issued = [e for e in listener.events if e.name == "invoice_issued"]
    assert [e.contract_id for e in issued] == [c.id for c in contracts]
    invoice = invoice_of(runtime, contracts[0].id)
    assert issued[0].payload == {"invoice": {
        "id": invoice.id, "number": "INV-2024-00001", "contract_id": contracts[0].id,
        "period_start": "2024-05-01", "period_end": "2024-05-31",
        "net": "20.00", "vat": "4.00", "gross": "24.00"}}
    issue(runtime)
    with runtime.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxEvent)
                        .where(OutboxEvent.name == "invoice_issued")) == 2


# --- documents -----------------------------------------------------------------------------

def test_html_shows_the_lines_and_escapes(runtime, factory, catalog):
    subscriber = factory.subscriber(name="<script>alert(1)</script>",
                                    addresses=[{"kind": "postal", "text": "Lenina 1 & 2"}])
    contract = factory.contract(subscriber)
    charge(runtime, contract.id, catalog["wialon"].id, "18.00", key="w", quantity="6")
    issue(runtime)
    invoice = invoice_of(runtime, contract.id)
    with runtime.session() as s:
        page = render_html(s, invoice.id)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Lenina 1 &amp; 2" in page
    assert re.search(r"<td>Wialon objects</td>\s*<td class=\"num\">6</td>\s*<td>pcs</td>"
                     r"\s*<td class=\"num\">15.00</td>\s*<td class=\"num\">20%</td>"
                     r"\s*<td class=\"num\">3.00</td>\s*<td class=\"num\">18.00</td>", page)
    for expected in ("INV-2024-00001", "Test ISP", contract.number, "2024-05-01", "2024-05-31",
                     "2024-06-01", "18.00 RUB", "@page { size: A4"):
        assert expected in page
    with runtime.session() as s, pytest.raises(NotFound) as error:
        render_html(s, 424242)
    assert error.value.field == "invoice_id"


def test_csv_parses_back(runtime, factory, catalog, lines_plugin):
    contract = factory.contract()
    charge(runtime, contract.id, catalog["wialon"].id, "18.00", key="w", quantity="6")
    lines_plugin.lines[contract.id] = [InvoiceLineDraft("=HYPERLINK(1)", D("-2.00"))]
    issue(runtime)
    invoice = invoice_of(runtime, contract.id)
    with runtime.session() as s:
        table = list(csv.DictReader(io.StringIO(render_csv(s, invoice.id))))
    assert [(r["description"], r["quantity"], r["unit"], r["gross"]) for r in table] == [
        ("Wialon objects", "6", "pcs", "18.00"), ("'=HYPERLINK(1)", "1", "", "-2.00"),
        ("Total", "", "", "16.00")]
    assert sum(D(r["net"]) for r in table[:-1]) == D(table[-1]["net"]) == invoice.net
    assert {r["currency"] for r in table} == {"RUB"}


def test_list_invoices(runtime, factory):
    first, second = charged_contract(runtime, factory), charged_contract(runtime, factory)
    issue(runtime)
    with runtime.session() as s:
        assert [n for _, n in list_invoices(s, period="2024-05")] == [second.number, first.number]
        assert [i.number for i, _ in list_invoices(s, contract_id=first.id)] == ["INV-2024-00001"]
        assert list_invoices(s, period="2024-06") == []


# --- concurrency and the command line ------------------------------------------------------

RUNNER = textwrap.dedent("""
    import json, sys
    from datetime import date
    from core.config import validate_settings
    from core.invoicing import invoice_period
    from plugins.host import build_runtime
    runtime = build_runtime(validate_settings({"database_url": sys.argv[1]}, "test"),
                            load_entrypoints=False)
    print(json.dumps(invoice_period(runtime, date(2024, 5, 1), batch_size=4).as_dict()))
""")


def _lock_waiters(engine) -> int:
    with engine.connect() as connection:  # a new transaction: a fresh activity snapshot
        return connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"))


@pytest.mark.postgresql_only
def test_two_runs_at_once_issue_each_invoice_once(runtime, factory, abonent_database):
    contracts = [charged_contract(runtime, factory) for _ in range(40)]
    plan_id = factory.operator().invoice_plan_id
    procs = []
    try:
        with runtime.session() as holder:
            # hold the plan's counter, so both runs are under way before either issues
            next_number(holder, holder.get(NumberPlan, plan_id), clock.today())
            procs = [subprocess.Popen([sys.executable, "-c", RUNNER, abonent_database.url],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(2)]
            deadline = time.monotonic() + 60
            while _lock_waiters(runtime.engine) < 2:
                assert time.monotonic() < deadline, "the two runs never met"
                assert all(p.poll() is None for p in procs), "a run ended early"
                time.sleep(0.05)
            holder.rollback()  # the number taken above goes back: no gap
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in outputs]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(r["issued"] for r in results) == 40
    year = clock.today().year
    with runtime.session() as s:
        invoices = s.execute(select(Invoice.contract_id, Invoice.number)).all()
    assert sorted(c for c, _ in invoices) == sorted(c.id for c in contracts)
    assert sorted(n for _, n in invoices) == [f"INV-{year}-{i:05d}" for i in range(1, 41)]


@pytest.fixture
def cli(abonent_database, tmp_path):
    abonent = cli_runner(abonent_database.url, tmp_path)
    return lambda *args, ok=True: abonent("invoice", *args, ok=ok)


def test_cli_runs_shows_and_lists(runtime, factory, catalog, cli, tmp_path):
    contract = factory.contract()
    charge(runtime, contract.id, catalog["wialon"].id, "18.00", key="w", quantity="6")
    other = charged_contract(runtime, factory, "5.00")

    dry = cli("run", "--period", "2024-05", "--dry-run").stdout
    assert "2024-05: would issue 2 invoice(s)" in dry and "dry run: nothing was written" in dry
    assert "Wialon objects, 6 pcs, 18.00" in dry
    one = cli("run", "--period", "2024-05", "--contract", other.number).stdout
    assert "issued 1 invoice(s)" in one and "RUB: net 4.17  VAT 0.83  gross 5.00" in one
    rest = cli("run", "--period", "2024-05").stdout
    assert "issued 1 invoice(s)" in rest and "1 skipped as already issued" in rest
    assert "issued 0 invoice(s), 1 skipped" in cli("run", "--period", "2024-05",
                                                   "--contract", str(contract.id)).stdout

    number = invoice_of(runtime, contract.id).number
    listed = cli("list", "--period", "2024-05").stdout.splitlines()
    assert listed[0].startswith(f"{number}  contract {contract.number}  2024-05  18.00 RUB")
    assert len(cli("list", "--contract", other.number, "--limit", "5").stdout.splitlines()) == 1
    assert "no invoices" in cli("list", "--period", "2024-04").stdout
    assert "2024-04: nothing to invoice" in cli("run", "--period", "2024-04").stdout
    table = list(csv.reader(io.StringIO(cli("show", number, "--format", "csv").stdout)))
    assert table[1][1:4] == ["Wialon objects", "6", "pcs"] and table[-1][7] == "18.00"
    target = tmp_path / "invoice.html"
    assert f"written to {target}" in cli("show", number, "--output", str(target)).stdout
    assert "Wialon objects" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize("args, message", [
    (("run", "--period", "2024-13"), "period: '2024-13' is not a month (YYYY-MM)"),
    (("run", "--period", "2024-05", "--contract", "NOPE"), "contract: no contract numbered NOPE"),
    (("run", "--period", "2024-05", "--contract", "4242"),
     "contract: no contract numbered or with id 4242"),
    (("show", "INV-0"), "number: no invoice numbered INV-0"),
    (("show", "INV-0", "--output", "/nonexistent/i.html"),
     "/nonexistent/i.html: the folder /nonexistent does not exist"),
    (("list", "--period", "May"), "period: 'May' is not a month (YYYY-MM)"),
    # str.isdigit() takes '²' for a digit, int() does not
    (("list", "--contract", "²"), "contract: no contract numbered ²"),
])
def test_cli_names_the_bad_field(runtime, cli, args, message):
    result = cli(*args, ok=False)
    assert message in result.stderr


# --- months that have not ended, and charges that land in an invoiced month ---------------

JULY = date(2024, 7, 1)


def test_a_late_charge_goes_on_the_next_invoice_as_a_correction(runtime, factory, catalog):
    contract = charged_contract(runtime, factory, "18.00")  # a May charge
    quiet = charged_contract(runtime, factory, "5.00")      # nothing in June but a late May
    assert issue(runtime, MAY).issued == 2
    with clock.frozen(at(date(2024, 6, 3))):  # a late CDR for May 31, after May's invoices
        charge(runtime, contract.id, catalog["wialon"].id, "9.00", key="late", quantity="3",
               day=date(2024, 5, 31))
        charge(runtime, quiet.id, None, "2.50", key="late-quiet", kind="manual",
               day=date(2024, 5, 20))
    charge(runtime, contract.id, None, "30.00", key="june", kind="manual", day=date(2024, 6, 10))
    assert rows(invoice_of(runtime, contract.id, MAY)) == [
        ("Other charges", D(1), None, D("15.00"), D("3.00"), D("18.00"))]

    june = issue(runtime, JUNE)
    assert (june.issued, june.skipped) == (2, 0)
    invoice = invoice_of(runtime, contract.id, JUNE)
    assert rows(invoice) == [
        ("Other charges", D(1), None, D("25.00"), D("5.00"), D("30.00")),
        ("Correction for 2024-05: Wialon objects", D(3), "pcs", D("7.50"), D("1.50"),
         D("9.00"))]
    assert (invoice.net, invoice.vat, invoice.gross) == (D("32.50"), D("6.50"), D("39.00"))
    assert rows(invoice_of(runtime, quiet.id, JUNE)) == [
        ("Correction for 2024-05: Other charges", D(1), None, D("2.08"), D("0.42"), D("2.50"))]
    assert june.totals["RUB"].gross == D("41.50")

    again = issue(runtime, JUNE)  # running June twice changes nothing
    assert (again.issued, again.skipped) == (0, 2)
    assert rows(invoice_of(runtime, contract.id, JUNE)) == rows(invoice)
    assert issue(runtime, JULY).issued == 0  # a correction is carried once
    assert rows(invoice_of(runtime, contract.id, MAY)) == [
        ("Other charges", D(1), None, D("15.00"), D("3.00"), D("18.00"))]


def test_a_month_that_has_not_ended_is_refused_unless_closed_early(runtime, factory, catalog,
                                                                     counts):
    contract = charged_contract(runtime, factory, "18.00")
    before = counts()
    with clock.frozen(at(date(2024, 5, 31), 20)):
        with pytest.raises(ValidationError) as refused:
            invoice_period(runtime, MAY)
        assert refused.value.field == "period"
        assert "2024-05 has not ended (its last day is 2024-05-31)" in refused.value.reason
        assert counts() == before
        assert invoice_period(runtime, MAY, dry_run=True).issued == 1  # a look is fine
        for kwargs in ({"close_early": True}, {"dry_run": True}):
            with pytest.raises(ValidationError) as future:
                invoice_period(runtime, JUNE, **kwargs)
            assert (future.value.field, future.value.reason) == ("period", "2024-06 has not begun")
        assert invoice_period(runtime, MAY, close_early=True).issued == 1
        charge(runtime, contract.id, catalog["wialon"].id, "6.00", key="w", quantity="2",
               day=date(2024, 5, 31))
    with runtime.session() as s:
        assert s.scalars(select(AuditEntry.object_id).where(
            AuditEntry.action == "close_early")).all() == ["2024-05"]
    assert rows(invoice_of(runtime, contract.id, JUNE) or Invoice()) == []
    assert issue(runtime, JUNE).issued == 1
    assert [(r[0], r[-1]) for r in rows(invoice_of(runtime, contract.id, JUNE))] == [
        ("Correction for 2024-05: Wialon objects", D("6.00"))]


def test_cli_refuses_the_current_month_unless_closed_early(runtime, factory, cli):
    contract = factory.contract()
    this_month = clock.today().replace(day=1)
    charge(runtime, contract.id, None, "7.00", key="now", kind="manual", day=this_month)
    refused = cli("run", "--period", f"{this_month:%Y-%m}", ok=False).stderr
    assert f"period: {this_month:%Y-%m} has not ended" in refused
    assert invoice_of(runtime, contract.id, this_month) is None
    closed = cli("run", "--period", f"{this_month:%Y-%m}", "--close-early").stdout
    assert "issued 1 invoice(s)" in closed and "gross 7.00" in closed
