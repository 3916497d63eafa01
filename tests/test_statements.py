"""Contract statements: the money of every day of real billing runs and payments read back
from the ledger (opening + movements = closing = the balance the contract had), late
charges at the moment they moved the balance, bad periods named, the documents, the
command line, and on PostgreSQL a plan that reads only the contract's rows."""
from __future__ import annotations

import csv
import io
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from core import ValidationError, clock
from core.ledger import add_charge
from core.statements import build, render_csv, render_html
from plugins.testing import BillingDays
from support import cli_runner

D = Decimal
NOV = date(2026, 11, 1)
ZONE = "Europe/Moscow"
#: the days payments arrive on (recorded at the day's run time, before the run)
PAID = {NOV: D("100.00"), NOV + timedelta(days=2): D("25.00")}


@pytest.fixture
def abonent_config():
    return {"timezone": ZONE}


@pytest.fixture
def world(runtime, factory, pay):
    """A contract on a daily 10.00 service, billed for five days of November in Moscow's
    time zone, paid 100.00 on the 1st and 25.00 on the 3rd; on the 4th a manual charge
    of 5.00 for the 1st is written (late), and two more days run after the period."""
    factory.operator(timezone=ZONE, name="Statement ISP")
    daily = factory.service("Daily internet", price="10.00", method="daily")
    account = factory.account(tariff=factory.tariff(base=[daily]), start_on=NOV)
    contract_id = account.contract_id

    def before(day: date) -> None:
        if day in PAID:
            pay(contract_id, PAID[day], source="bank", external_id=f"bank-{day}")
        if day == NOV + timedelta(days=3):
            with runtime.session(actor="test") as session:
                add_charge(session, key="late-manual", contract_id=contract_id,
                           amount=D("5.00"), kind="manual", period_start=NOV, period_end=NOV,
                           comment="router rent")
    days = BillingDays(runtime, ["core.billing_day"]).run(NOV, 7, before=before)
    return contract_id, days


def statement(runtime, contract, first, last):
    with runtime.session(actor="test") as session:
        return build(session, contract, first, last)


def test_every_day_opens_where_the_last_closed_and_closes_at_the_contracts_balance(
        runtime, world):
    contract_id, days = world
    balances = [d.balances[contract_id] for d in days]
    # 100 − 10, −10, +25 − 10, −5 (late) − 10, −10, then two days after the period
    assert balances == [D("90.00"), D("80.00"), D("95.00"), D("80.00"), D("70.00"),
                        D("60.00"), D("50.00")]
    opening = D("0.00")
    for day_money in days[:5]:
        day = statement(runtime, contract_id, day_money.day, day_money.day)
        assert day.opening == opening, day_money.day
        assert day.opening + sum(e.amount for e in day.entries) == day.closing
        assert day.closing == day_money.balances[contract_id], day_money.day
        assert day.charged == day_money.charged(contract_id) + (
            D("5.00") if day_money.day == NOV + timedelta(days=3) else 0)
        assert day.paid == PAID.get(day_money.day, D("0.00"))
        opening = day.closing


def test_a_period_lists_every_entry_with_its_running_balance_and_totals(runtime, world):
    contract_id, _days = world
    period = statement(runtime, contract_id, NOV, NOV + timedelta(days=4))
    assert (period.opening, period.closing) == (D("0.00"), D("70.00"))
    assert [(e.kind, e.charge, e.payment, e.balance) for e in period.entries] == [
        ("payment", None, D("100.00"), D("100.00")),
        ("periodic", D("10.00"), None, D("90.00")),
        ("periodic", D("10.00"), None, D("80.00")),
        ("payment", None, D("25.00"), D("105.00")),
        ("periodic", D("10.00"), None, D("95.00")),
        # the manual charge for the 1st sits on the 4th, when it moved the balance
        ("manual", D("5.00"), None, D("90.00")),
        ("periodic", D("10.00"), None, D("80.00")),
        ("periodic", D("10.00"), None, D("70.00")),
    ]
    assert "2026-11-01" in period.entries[5].description
    assert "router rent" in period.entries[5].description
    assert (period.charged, period.paid) == (D("55.00"), D("125.00"))
    assert [(t.kind, t.charge, t.payment) for t in period.totals] == [
        ("payment", None, D("125.00")), ("periodic", D("50.00"), None),
        ("manual", D("5.00"), None)]
    # the days are Moscow's: the 1st's run at 00:10 MSK is still October 31 in UTC
    assert period.local(period.entries[0].at).date() == NOV


@pytest.mark.parametrize("first, last, field, reason", [
    ("2026-11-05", "2026-11-01", "to", "2026-11-01 is before from (2026-11-05)"),
    ("2026-13-01", "2026-11-01", "from", "'2026-13-01' is not a date (YYYY-MM-DD)"),
    ("2026-11-01", "", "to", "a date is required"),
    ("2026-11-01", "2999-01-01", "to", "2999-01-01 is after today"),
    ("1066-10-14", "2026-11-01", "from", "1066-10-14 is before 2000-01-01"),
])
def test_a_bad_period_is_refused_naming_the_field(runtime, factory, first, last, field, reason):
    contract = factory.contract()
    with pytest.raises(ValidationError) as refused:
        statement(runtime, contract.id, first, last)
    assert refused.value.field == field and reason in refused.value.reason


def test_an_unknown_contract_is_named(runtime, factory):
    factory.operator()
    with pytest.raises(ValidationError) as refused:
        statement(runtime, "C-NOPE", "2026-11-01", "2026-11-02")
    assert refused.value.field == "contract"


def test_documents_escape_html_and_neutralise_formulas(runtime, factory, pay):
    contract = factory.contract(subscriber=factory.subscriber(name="<script>x()</script>"))
    pay(contract, "12.50", source="bank", external_id="b-1", comment="<b>cash</b>")
    service = factory.service("=cmd|' /C calc'!A1", kind="one_time", price="2.00")
    today = clock.today()
    with runtime.session(actor="test") as session:
        add_charge(session, key="formula", contract_id=contract.id, amount=D("2.00"),
                   kind="one_time", period_start=today, period_end=today,
                   service_id=service.id)
    built = statement(runtime, contract.id, today - timedelta(days=1), today)
    with runtime.session() as session:
        html = render_html(session, built)
    assert "<script>x()" not in html and "&lt;script&gt;x()" in html
    assert "<b>cash" not in html and "&lt;b&gt;cash" in html
    assert 'id="closing"' in html and "10.50" in html
    rows = list(csv.reader(io.StringIO(render_csv(built))))
    assert rows[0] == ["date", "time", "kind", "description", "charge", "payment", "balance",
                       "reference"]
    assert rows[1][2:] == ["opening", "Opening balance", "", "", "0.00", ""]
    assert rows[2][2:7] == ["payment", "bank b-1, <b>cash</b>", "", "12.50", "12.50"]
    assert rows[3][2] == "one_time" and rows[3][3].startswith("'=cmd|")
    assert rows[3][4:7] == ["2.00", "", "10.50"]
    assert rows[4][2:7] == ["closing", "Closing balance", "2.00", "12.50", "10.50"]
    assert [row[2:6] for row in rows[5:]] == [["total", "Payment", "", "12.50"],
                                              ["total", "One-time charge", "2.00", ""]]


def test_csv_of_the_period_adds_up(runtime, world):
    contract_id, _days = world
    rows = list(csv.DictReader(io.StringIO(render_csv(
        statement(runtime, contract_id, NOV, NOV + timedelta(days=4))))))
    entries = [r for r in rows if r["kind"] not in ("opening", "closing", "total")]
    opening = D(rows[0]["balance"])
    moved = sum(D(r["payment"] or 0) - D(r["charge"] or 0) for r in entries)
    closing = next(r for r in rows if r["kind"] == "closing")
    assert opening + moved == D(closing["balance"]) == D("70.00")
    assert [r["balance"] for r in entries][-1] == "70.00"
    assert {r["description"]: (r["charge"], r["payment"]) for r in rows if r["kind"] == "total"} \
        == {"Payment": ("", "125.00"), "Subscription fee": ("50.00", ""),
            "Manual charge": ("5.00", "")}


def test_cli_prints_the_statement_and_names_a_bad_field(runtime, world, abonent_database,
                                                        tmp_path):
    contract_id, _days = world
    abonent = cli_runner(abonent_database.url, tmp_path)
    with runtime.session() as session:
        from core.models import Contract
        number = session.get(Contract, contract_id).number
    out = abonent("statement", number, "--from", "2026-11-03", "--to", "2026-11-03",
                  "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["kind"], r["charge"], r["payment"], r["balance"]) for r in rows[:4]] == [
        ("opening", "", "", "80.00"), ("payment", "", "25.00", "105.00"),
        ("periodic", "10.00", "", "95.00"), ("closing", "10.00", "25.00", "95.00")]
    target = tmp_path / "statement.html"
    assert f"written to {target}" in abonent(
        "statement", str(contract_id), "--from", "2026-11-01", "--to", "2026-11-05",
        "--output", str(target)).stdout
    assert "Daily internet" in target.read_text(encoding="utf-8")
    refused = abonent("statement", number, "--from", "2026-11-03", "--to", "2026-11-01", ok=False)
    assert "to: 2026-11-01 is before from (2026-11-03)" in refused.stderr
    assert "contract: no contract numbered or with id 999999" in abonent(
        "statement", "999999", "--from", "2026-11-01", "--to", "2026-11-01", ok=False).stderr


@pytest.mark.postgresql_only  # query plans are PostgreSQL's
def test_postgresql_reads_only_the_contracts_rows_through_indexes(runtime, world):
    """Every query of a statement has an index plan when sequential scans are off: with
    a million rows it reads the contract's rows, not the ledger."""
    contract_id, _days = world
    queries = []
    with runtime.session() as session:
        connection = session.connection()

        def capture(conn, cursor, sql, parameters, context, executemany):
            queries.append((sql, parameters))
        event.listen(connection, "before_cursor_execute", capture)
        build(session, contract_id, NOV, NOV + timedelta(days=4))
        event.remove(connection, "before_cursor_execute", capture)
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plans = ["\n".join(row[0] for row in connection.exec_driver_sql(
            "EXPLAIN " + sql, parameters)) for sql, parameters in queries
            if sql.lstrip().upper().startswith("SELECT")]
    ledger = [plan for plan in plans if " charge" in plan or " payment" in plan]
    assert ledger, plans
    for plan in ledger:
        assert "Seq Scan" not in plan, plan


def test_corrections_sit_in_the_statement_and_keep_every_day_exact(runtime, factory, pay):
    """A credit, an instalment, a reversal, a promised payment given and expired, a manual
    charge: each day still opens where the last closed and closes at the balance."""
    from core.services import corrections, instalments, promises
    factory.operator(timezone=ZONE)
    daily = factory.service("Daily internet", price="10.00", method="daily")
    contract_id = factory.account(tariff=factory.tariff(base=[daily]),
                                  start_on=NOV).contract_id
    paid = {}

    def before(day: date) -> None:
        n = (day - NOV).days + 1
        with runtime.session(actor="maria") as session:
            if n == 1:
                paid["first"] = pay(contract_id, "200.00", source="bank", external_id="b1").id
            elif n == 2:
                corrections.manual_credit(session, contract_id, "15.00", "goodwill")
                instalments.create_instalment(session, contract_id, "Router", "30.00", 3)
            elif n == 3:
                corrections.reverse_payment(session, paid["first"], "paid twice by mistake")
                promises.give_promise(session, contract_id, "50.00")
            elif n == 4:
                corrections.manual_charge(session, contract_id, "7.00", "cable")
    days = BillingDays(runtime, ["core.billing_day"]).run(NOV, 7, before=before)
    balances = [d.balances[contract_id] for d in days]
    # 200 − 10; +15 − 10 (router 1/3) − 10; −200 + 50 − 10; −7 − 10; −10; …
    assert balances[:5] == [D("190.00"), D("185.00"), D("25.00"), D("8.00"), D("-2.00")]
    opening = D("0.00")
    for day_money in days:
        day = statement(runtime, contract_id, day_money.day, day_money.day)
        assert day.opening == opening, day_money.day
        assert day.opening + sum(e.amount for e in day.entries) == day.closing
        assert day.closing == day_money.balances[contract_id], day_money.day
        opening = day.closing
    week = statement(runtime, contract_id, NOV, NOV + timedelta(days=6))
    totals = {t.kind: (t.charge, t.payment) for t in week.totals}
    assert totals["payment"] == (None, D("200.00"))
    assert totals["credit"] == (None, D("15.00"))
    assert totals["reversal"] == (None, D("-200.00"))
    assert totals["promise"] == (None, D("50.00"))
    assert totals["promise_end"] == (None, D("-50.00"))
    assert totals["manual"] == (D("17.00"), None)  # the router's first part and the cable
    reversal = next(e for e in week.entries if e.kind == "reversal")
    assert f"undoes payment:{paid['first']}" in reversal.description
    assert "paid twice by mistake" in reversal.description
    assert week.closing == balances[-1]


@pytest.mark.postgresql_only  # SQLite has one writer and a transaction reads one snapshot
def test_postgresql_a_statement_read_while_a_payment_commits_stays_exact(runtime, world):
    """The statement waits for a writer holding the contract, then reads the balance and
    the ledger both after it: never the new balance with the old ledger."""
    from core.services.payments import record_payment
    contract_id, days = world
    closed = {}

    def read() -> None:
        closed["balance"] = statement(runtime, contract_id, NOV, NOV + timedelta(days=4)).closing
    reader = threading.Thread(target=read)
    with runtime.session(actor="test") as session:
        record_payment(session, contract_id, "33.00", source="bank", external_id="while")
        reader.start()
        reader.join(timeout=1.5)
        assert reader.is_alive(), "the statement did not wait for the writer"
    reader.join(timeout=60)
    assert closed["balance"] == days[4].balances[contract_id] == D("70.00")
