"""Payments registry import: good lines taken, replays reported as duplicates, every bad
line rejected with its reason without stopping the others; and `abonent payment`."""
from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import ValidationError
from core.blocking import set_block
from core.clock import frozen
from core.models import Block, Contract, Payment
from core.payment_import import import_payments
from support import cli_runner



@pytest.fixture(autouse=True)
def on_day():
    with frozen(datetime(2024, 5, 10, 12, tzinfo=timezone.utc)):
        yield


@pytest.fixture
def contracts(factory):
    first = factory.contract(number="C-1")
    second = factory.contract(number="C-2")
    return first, second


def registry(*lines: str, encoding="utf-8") -> io.BytesIO:
    return io.BytesIO("".join(line + "\n" for line in lines).encode(encoding))


def balance(runtime, number) -> Decimal:
    with runtime.session() as s:
        return s.scalars(select(Contract.balance).where(Contract.number == number)).one()


def outcomes(report) -> list[tuple]:
    return [(line.line, line.outcome, line.reason) for line in report.lines]


def test_good_lines_with_a_header(runtime, contracts):
    report = import_payments(runtime, registry(
        "date,contract,amount,external id",
        "2024-05-01,C-1,100.50,tx-1",
        "",
        ",,,",
        '02.05.2024,"C-2",200,tx-2',
    ), "bank")
    assert report.delimiter == ","
    assert [(l.line, l.outcome) for l in report.lines] == [
        (1, "header"), (2, "taken"), (5, "taken")]
    assert (report.taken, report.duplicates, report.rejected) == (2, 0, 0)
    assert report.amount == Decimal("300.50")
    assert balance(runtime, "C-1") == Decimal("100.50")
    assert balance(runtime, "C-2") == Decimal("200.00")
    with runtime.session() as s:
        paid = s.scalars(select(Payment).order_by(Payment.id)).all()
        assert [(p.source, p.external_id) for p in paid] == [("bank", "tx-1"), ("bank", "tx-2")]
        assert paid[0].received_at == datetime(2024, 5, 1, tzinfo=timezone.utc)
        assert paid[1].received_at == datetime(2024, 5, 2, tzinfo=timezone.utc)
        assert report.lines[1].payment_id == paid[0].id


def test_semicolons_and_decimal_comma_without_header(runtime, contracts):
    report = import_payments(runtime, registry(
        "\ufeff01.05.2024;C-1;1500,75;A-1",
        "2024-05-02;C-2;10.5;A-2",
    ), "agent")
    assert report.delimiter == ";"
    assert [l.outcome for l in report.lines] == ["taken", "taken"]
    assert balance(runtime, "C-1") == Decimal("1500.75")
    assert balance(runtime, "C-2") == Decimal("10.50")


def test_the_same_file_twice_takes_nothing_the_second_time(runtime, contracts, counts):
    lines = ("2024-05-01;C-1;100;tx-1", "2024-05-01;C-2;50,00;tx-2")
    first = import_payments(runtime, registry(*lines), "bank")
    before = counts()
    second = import_payments(runtime, registry(*lines), "bank")
    assert (first.taken, second.taken, second.duplicates) == (2, 0, 2)
    assert [l.payment_id for l in second.lines] == [l.payment_id for l in first.lines]
    assert counts() == before
    assert balance(runtime, "C-1") == Decimal("100.00")


def test_every_rejection_has_its_reason_and_never_stops_the_good(runtime, contracts, counts):
    import_payments(runtime, registry("2024-05-01,C-1,100,dup"), "bank")
    report = import_payments(runtime, io.BytesIO(
        b"2024-05-01,C-9,10,a\n"
        b"2024-05-01,C-1,ten,b\n"
        b"2024-05-01,C-1,-5,c\n"
        b"2024-05-01,C-1,0,d\n"
        b"2024-05-01,C-1,1.005,e\n"
        b"2024-05-01,C-1,\"1,5\",f\n"
        b"2024-13-01,C-1,10,g\n"
        b"1.5.2024,C-1,10,h\n"
        b"2024-06-01,C-1,10,i\n"
        b"2024-05-01,C-1,10,\n"
        b"2024-05-01,C-1,99,dup\n"
        b"2024-05-01,C-1,10\n"
        b"2024-05-01,C-\xff,10,j\n"
        b"2024-05-01,C-1,10,k\x00\n"
        b"2024-05-01,C-2,25,good\n"), "bank")
    assert outcomes(report) == [
        (1, "rejected", "contract: no contract numbered C-9"),
        (2, "rejected", "amount: 'ten' is not a decimal number"),
        (3, "rejected", "amount: must not be negative"),
        (4, "rejected", "amount: must not be zero"),
        (5, "rejected", "amount: at most 2 decimal places"),
        (6, "rejected", "amount: '1,5' is not a decimal number"),
        (7, "rejected", "date: '2024-13-01' is not a date (YYYY-MM-DD or DD.MM.YYYY)"),
        (8, "rejected", "date: '1.5.2024' is not a date (YYYY-MM-DD or DD.MM.YYYY)"),
        (9, "rejected", "date: 2024-06-01 is in the future"),
        (10, "rejected", "external_id: is required (it makes a re-import harmless)"),
        (11, "rejected", "external_id: bank/dup is already payment 1 of 100.00 on contract 1"),
        (12, "rejected", "expected 4 fields: date, contract number, amount, external id; got 3"),
        (13, "rejected", "not valid UTF-8 (byte 0xff at position 13): save the registry as UTF-8"),
        (14, "rejected", "field 4 contains a control character"),
        (15, "taken", None),
    ]
    assert report.lines[0].contract == "C-9" and report.lines[0].external_id == "a"
    assert (report.taken, report.rejected) == (1, 14)
    assert balance(runtime, "C-1") == Decimal("100.00")
    assert balance(runtime, "C-2") == Decimal("25.00")


def test_a_payment_lifts_the_balance_block(runtime, factory):
    account = factory.account(contract=factory.contract(number="C-7"))
    with runtime.session() as s:
        s.get(Contract, account.contract_id).balance = Decimal("-50")
    with runtime.session() as s:
        set_block(s, account.id, "balance", system=True)
    report = import_payments(runtime, registry("2024-05-01;C-7;50;p-1"), "bank")
    assert report.taken == 1
    with runtime.session() as s:
        assert s.scalars(select(Block.lifted_at).where(Block.account_id == account.id)).one()


def test_bad_source_and_missing_file(runtime, tmp_path):
    with pytest.raises(ValidationError) as error:
        import_payments(runtime, registry(), "bank one")
    assert error.value.field == "source"
    with pytest.raises(ValidationError) as error:
        import_payments(runtime, tmp_path / "nothing.csv", "bank")
    assert error.value.field == "file"
    with pytest.raises(ValidationError) as error:  # a name too long for the file system
        import_payments(runtime, tmp_path / ("x" * 5000), "bank")
    assert error.value.field == "file" and "cannot be read" in error.value.reason
    with pytest.raises(ValidationError) as error:
        import_payments(runtime, io.StringIO("2024-05-01;C-1;1;x\n"), "bank")
    assert error.value.field == "file"
    assert import_payments(runtime, registry(), "bank").lines == []


@pytest.fixture
def abonent_cli(runtime):
    return cli_runner(runtime.settings.database_url, runtime.settings.var_dir)


def test_payment_cli(runtime, contracts, abonent_cli, tmp_path):
    """The CLI runs on the real clock: its payments are of yesterday (the payment window
    of [billing] payment_days_back)."""
    first, _ = contracts
    day = date.today() - timedelta(days=1)
    added = abonent_cli("payment", "add", "--contract", "C-1", "--amount", "100.00",
                        "--external-id", "cash-1", "--received-at", f"{day}T10:00:00+03:00",
                        "--comment", "at the office").stdout
    assert added.startswith("payment 1 recorded: 100.00 on contract C-1 (manual/cash-1, "
                            f"{day} 07:00 UTC); balance 100.00")
    again = abonent_cli("payment", "add", "--contract", str(first.id), "--amount", "100",
                        "--external-id", "cash-1").stdout
    assert again.startswith("payment 1 already recorded") and "balance 100.00" in again
    for args, message in [
        (("--contract", "C-404", "--amount", "1"), "contract: no contract numbered C-404"),
        (("--contract", "C-1", "--amount", "1,5"), "amount: '1,5' is not a decimal number"),
        (("--contract", "C-1", "--amount", "1", "--received-at", "yesterday"),
         "received_at: 'yesterday' is not an ISO date and time"),
        (("--contract", "C-1", "--amount", "5", "--external-id", "cash-1"),
         "external_id: manual/cash-1 is already payment 1"),
    ]:
        assert message in abonent_cli("payment", "add", *args, ok=False).stderr

    path = tmp_path / "registry.csv"
    path.write_bytes(f"date;contract;amount;id\n{day:%d.%m.%Y};C-2;10,50;r-1\n"
                     f"{day:%d.%m.%Y};C-9;1;r-2\n".encode())
    out = abonent_cli("payment", "import", str(path), "--source", "sber",
                      "--report", str(tmp_path / "report.csv")).stdout
    assert out.splitlines() == [
        "line 1: header - header row: date;contract;amount;id",
        "line 2: taken - payment 2: 10.50 on C-2",
        "line 3: rejected - contract: no contract numbered C-9",
        "registry.csv: taken 1 (10.50), duplicates 0, rejected 1",
    ]
    with open(tmp_path / "report.csv", newline="", encoding="utf-8") as stream:
        written = list(csv.DictReader(stream))
    assert [(r["line"], r["outcome"], r["payment_id"], r["reason"]) for r in written] == [
        ("1", "header", "", "header row: date;contract;amount;id"), ("2", "taken", "2", ""),
        ("3", "rejected", "", "contract: no contract numbered C-9")]
    replay = abonent_cli("payment", "import", str(path), "--source", "sber").stdout
    assert "taken 0 (0.00), duplicates 1, rejected 1" in replay
    missing = abonent_cli("payment", "import", str(tmp_path / "none.csv"), "--source", "sber",
                          ok=False)
    assert "file:" in missing.stderr and "is not a file" in missing.stderr
    assert balance(runtime, "C-2") == Decimal("10.50")


def test_a_bare_cr_or_a_binary_file_gets_a_verdict_per_line(runtime, contracts):
    """csv stops at a carriage return inside a line or a NUL byte: each such line is
    rejected and the lines after it are still taken."""
    report = import_payments(runtime, io.BytesIO(
        b"2024-05-01,C-1,10,cr-1\r2024-05-01,C-1,20,cr-2\n"
        b"2024-05-01,C-1,\x0030,nul\n"
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\n"
        b"2024-05-01,C-2,25,after\n"), "bank")
    assert [(line.line, line.outcome) for line in report.lines] == [
        (1, "rejected"), (2, "rejected"), (3, "rejected"), (4, "rejected"), (5, "rejected"),
        (6, "taken")]
    assert "carriage return" in report.lines[0].reason
    assert report.summary() == "<stream>: taken 1 (25.00), duplicates 0, rejected 5"
    assert balance(runtime, "C-1") == Decimal("0.00")
    assert balance(runtime, "C-2") == Decimal("25.00")


def test_random_bytes_never_stop_the_import(runtime, contracts):
    noise = random.Random(10)
    for _ in range(20):
        data = bytes(noise.choice(b"\x00\r\n,;\"'0123456789.-C\xff\xfe") for _ in range(400))
        report = import_payments(runtime, io.BytesIO(data), "bank")
        assert report.taken + report.duplicates + report.rejected + report.count("header") \
            == len(report.lines)


@pytest.mark.parametrize("report", ["missing-folder/r.csv", ".", "registry.csv/r.csv"])
def test_an_unwritable_report_is_refused_before_anything_is_imported(
        runtime, contracts, abonent_cli, tmp_path, counts, report):
    path = tmp_path / "registry.csv"
    path.write_bytes(f"{date.today() - timedelta(days=1)},C-1,10,u-1\n".encode())
    before = counts()
    refused = abonent_cli("payment", "import", str(path), "--source", "bank",
                          "--report", str(tmp_path / report), ok=False)
    assert "--report" in refused.stderr, refused.stderr
    assert counts() == before


def test_report_cells_are_never_formulas(runtime, contracts, abonent_cli, tmp_path):
    day = date.today() - timedelta(days=1)
    path = tmp_path / "registry.csv"
    path.write_bytes(f"{day};=cmd|' /C calc'!A1;10;@x\n{day};C-1;+5;-id\n".encode())
    abonent_cli("payment", "import", str(path), "--source", "bank",
                "--report", str(tmp_path / "report.csv"))
    with open(tmp_path / "report.csv", newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert [(r["contract"], r["amount"], r["external_id"]) for r in rows] == [
        ("'=cmd|' /C calc'!A1", "", "'@x"), ("C-1", "5.00", "'-id")]
    assert rows[0]["reason"].startswith("contract: no contract numbered =cmd")
