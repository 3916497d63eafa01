"""The CDR spool: the seed's file `777;5;1;6` becomes a charge of 18.00, a re-dropped file
adds nothing, broken lines are set aside with their reason, files still being written
are left alone, a crash leaves the file to the next intake; and the `abonent usage` CLI."""
from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import NotFound, ValidationError, hookimpl
from core.cdr import Spool, intake, spool_root
from core.clock import frozen
from core.ledger import verify_balances
from core.models import Block, CdrFile, Charge, Contract, UsageRecord
from test_usage_rating import make_counter
from support import cli_runner

SETTLE = 60


@pytest.fixture
def abonent_config():
    return {"cdr": {"settle_seconds": SETTLE}}


@pytest.fixture(autouse=True)
def in_may_2024():
    """The files are of early May 2024 (inside the usage window of a day in May)."""
    with frozen(datetime(2024, 5, 6, 12, tzinfo=timezone.utc)):
        yield


@pytest.fixture
def counter(runtime, factory):
    with frozen(datetime(2024, 5, 1, 12, tzinfo=timezone.utc)):
        return make_counter(runtime, factory)


def drop(runtime, name: str, content: bytes, source: str = "Wialon_1", age: float = 2 * SETTLE
         ) -> Path:
    """Write a spool file as a collector would, `age` seconds old."""
    folder = spool_root(runtime) / source
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def balance(runtime, contract_id) -> Decimal:
    with runtime.session() as s:
        return s.get(Contract, contract_id).balance


def rows(runtime, model) -> list:
    with runtime.session() as s:
        return list(s.scalars(select(model).order_by(model.id)))


def test_seed_file_is_charged_18_and_a_redrop_adds_nothing(runtime, counter):
    drop(runtime, "wialon_2024-05-01.cdr", b"777;5;1;6\r\n")
    (report,) = intake(runtime)
    assert (report.source, report.name, report.day) == ("Wialon_1", "wialon_2024-05-01.cdr",
                                                        date(2024, 5, 1))
    assert (report.lines, report.taken, report.duplicates, report.rejected) == (1, 1, 0, 0)
    assert report.amount == Decimal("18.00") and report.rejects is None
    (charge,) = rows(runtime, Charge)
    assert (charge.amount, charge.kind, charge.period_start) == (
        Decimal("18.00"), "usage", date(2024, 5, 1))
    assert charge.account_id == counter.account.id
    assert balance(runtime, counter.contract_id) == Decimal("-18.00")
    spool = spool_root(runtime) / "Wialon_1"
    assert report.done == spool / "done" / "wialon_2024-05-01.cdr" and report.done.is_file()
    assert not (spool / "wialon_2024-05-01.cdr").exists()
    assert list((spool / "work").iterdir()) == []
    (record,) = rows(runtime, UsageRecord)
    assert record.key == "Wialon_1:2024-05-01:777:5:1" and record.charge_id == charge.id
    (taken,) = rows(runtime, CdrFile)
    assert (taken.source, taken.name, taken.digest, taken.lines, taken.taken) == (
        "Wialon_1", "wialon_2024-05-01.cdr", report.digest, 1, 1)

    drop(runtime, "wialon_2024-05-01.cdr", b"777;5;1;6\r\n")
    (again,) = intake(runtime)
    assert (again.lines, again.taken, again.duplicates, again.rejected) == (1, 0, 1, 0)
    assert again.done.name == "wialon_2024-05-01.cdr.1"
    assert len(rows(runtime, Charge)) == 1 and len(rows(runtime, UsageRecord)) == 1
    assert balance(runtime, counter.contract_id) == Decimal("-18.00")
    assert [(f.taken, f.duplicates) for f in rows(runtime, CdrFile)] == [(1, 0), (0, 1)]
    assert intake(runtime) == []


BROKEN = (
    b"777;5;1;6\n"                     # 1 good
    b"\n"                              # 2 empty: ignored
    b"777;5;1\n"                       # 3 field count
    b"777;5;one;6\n"                   # 4 non-numeric
    b"777;5;1;-6\n"                    # 5 negative
    b"777;5;1;10000000000000\n"        # 6 beyond NUMERIC(18,6)
    b"777;5;1;\xff\xfe\n"              # 7 bad encoding
    b"999;5;1;6\n"                     # 8 unknown ext_id
    b"777;5;42;6\n"                    # 9 unknown sensor type
    b"777;5;1;2.5\r\n"                 # 10 good
)


def test_broken_lines_go_to_rejects_and_never_stop_the_good(runtime, counter):
    drop(runtime, "20240501-objects.txt", BROKEN)
    (report,) = intake(runtime)
    assert (report.lines, report.taken, report.duplicates, report.rejected) == (9, 2, 0, 7)
    assert report.amount == Decimal("25.50")
    rejects = spool_root(runtime) / "Wialon_1" / "rejects"
    assert report.rejects == rejects / "20240501-objects.txt.rej"
    assert report.rejects.read_bytes().splitlines() == [
        b"3;777;5;1;expected 4 fields ext_id;unit_id;sensor_type_id;value, got 3",
        b"4;777;5;one;6;sensor_type_id 'one' is not a whole number",
        b"5;777;5;1;-6;value -6 is negative",
        b"6;777;5;1;10000000000000;value 10000000000000 is too large "
        b"(at most 12 digits before the point)",
        b"7;777;5;1;\xff\xfe;not valid UTF-8 (byte 0xff at position 8)",
        b"8;999;5;1;6;unknown ext_id 999",
        b"9;777;5;42;6;unknown sensor type 42",
    ]
    rejected = {r.key: r.reason for r in rows(runtime, UsageRecord) if r.state == "rejected"}
    assert rejected == {"Wialon_1:2024-05-01:999:5:1": "unknown ext_id 999",
                        "Wialon_1:2024-05-01:777:5:42": "unknown sensor type 42"}
    assert (rows(runtime, CdrFile)[0].lines, rows(runtime, CdrFile)[0].rejected) == (9, 7)
    assert balance(runtime, counter.contract_id) == Decimal("-25.50")


def test_empty_file_is_reported(runtime, counter):
    drop(runtime, "empty.cdr", b"\n\r\n")
    with frozen(datetime(2024, 5, 3, 9, tzinfo=timezone.utc)):
        (report,) = intake(runtime)
    assert report.day == date(2024, 5, 3)
    assert (report.lines, report.taken, report.rejected) == (0, 0, 0)
    assert report.rejects.read_bytes() == b"0;;empty file\n"
    assert report.done.is_file() and rows(runtime, CdrFile)[0].lines == 0


def test_files_being_written_are_left_alone(runtime, counter):
    fresh = drop(runtime, "fresh-2024-05-01.cdr", b"777;5;1;6\n", age=1)
    ignored = [drop(runtime, name, b"777;5;1;6\n")
               for name in (".hidden", "next.cdr.tmp", "next.cdr.part")]
    assert intake(runtime) == []
    assert fresh.exists() and all(path.exists() for path in ignored)
    settled = time.time() - 2 * SETTLE
    os.utime(fresh, (settled, settled))
    (report,) = intake(runtime)
    assert report.name == fresh.name and report.taken == 1
    assert all(path.exists() for path in ignored)


def test_a_file_growing_between_two_looks_is_not_claimed(runtime, counter):
    path = drop(runtime, "growing.cdr", b"777;5;1;6\n")
    spool = Spool(spool_root(runtime), "Wialon_1")
    ((found, look),) = spool.settled(SETTLE)
    with open(path, "ab") as out:
        out.write(b"777;5;1;7\n")
    os.utime(path, (time.time() - 2 * SETTLE,) * 2)
    assert spool.claim(found, look) is None and path.exists()
    ((_, look),) = spool.settled(SETTLE)
    assert spool.claim(found, look) == spool.path / "work" / "growing.cdr"


class Exploding:
    """A rating plugin that fails hard (not a ValidationError): the file's transaction
    rolls back and the file waits in work/ for the next intake."""

    broken = True

    @hookimpl
    def abonent_rate_usage(self, session, record, service, account):
        if self.broken:
            raise RuntimeError("pricing service down")


@pytest.fixture
def exploding():
    return Exploding()


@pytest.fixture
def abonent_plugins(request):
    return ([("exploding", request.getfixturevalue("exploding"))]
            if "exploding" in request.fixturenames else [])


def test_a_failed_file_stays_in_work_and_the_next_intake_takes_it_first(runtime, counter,
                                                                         exploding, counts):
    drop(runtime, "2024-05-01.cdr", b"777;5;1;6\n999;5;1;1\n")
    before = counts()
    (failed,) = intake(runtime)
    assert (failed.name, failed.error) == ("2024-05-01.cdr", "RuntimeError: pricing service down")
    spool = spool_root(runtime) / "Wialon_1"
    assert [p.name for p in (spool / "work").iterdir()] == ["2024-05-01.cdr"]
    assert list((spool / "rejects").iterdir()) == []
    assert counts() == before
    drop(runtime, "2024-05-02.cdr", b"777;5;1;1\n")
    exploding.broken = False
    reports = intake(runtime)
    assert [(r.name, r.taken, r.rejected) for r in reports] == [
        ("2024-05-01.cdr", 1, 1), ("2024-05-02.cdr", 1, 0)]
    assert list((spool / "work").iterdir()) == []
    assert balance(runtime, counter.contract_id) == Decimal("-21.00")


def test_a_file_left_in_work_after_its_commit_adds_nothing(runtime, counter):
    """A crash after the file's transaction committed but before it reached done/."""
    drop(runtime, "2024-05-01.cdr", b"777;5;1;6\n")
    (first,) = intake(runtime)
    first.done.rename(first.done.parent.parent / "work" / "2024-05-01.cdr")
    (again,) = intake(runtime)
    assert (again.taken, again.duplicates, again.done.name) == (0, 1, "2024-05-01.cdr")
    assert len(rows(runtime, Charge)) == 1
    assert balance(runtime, counter.contract_id) == Decimal("-18.00")


def test_several_sources_and_one(runtime, counter):
    drop(runtime, "a-2024-05-01.cdr", b"777;5;1;1\n", source="Wialon_1")
    drop(runtime, "b-2024-05-01.cdr", b"777;5;1;2\n", source="Wialon_2")
    (only,) = intake(runtime, "Wialon_2")
    assert (only.source, only.amount) == ("Wialon_2", Decimal("6.00"))
    (rest,) = intake(runtime)
    assert rest.source == "Wialon_1"
    with pytest.raises(NotFound) as missing:
        intake(runtime, "Wialon_9")
    assert missing.value.field == "source"
    with pytest.raises(ValidationError) as bad:
        intake(runtime, "../etc")
    assert bad.value.field == "source"


def test_usage_below_the_limit_blocks_the_account(runtime, factory):
    with frozen(datetime(2024, 5, 1, 12, tzinfo=timezone.utc)):
        account = make_counter(runtime, factory, ext_id="555").account
    drop(runtime, "2024-05-01.cdr", b"555;5;1;6\n")
    (report,) = intake(runtime)
    assert report.blocked == 1
    with runtime.session() as s:
        sources = s.scalars(select(Block.source).where(Block.account_id == account.id,
                                                       Block.lifted_at.is_(None))).all()
        assert sources == ["balance"] and verify_balances(s) == []


def test_many_lines_in_chunks(runtime, factory, monkeypatch):
    import core.cdr
    monkeypatch.setattr(core.cdr, "CHUNK", 4)
    with frozen(datetime(2024, 5, 1, 12, tzinfo=timezone.utc)):
        accounts = [make_counter(runtime, factory, ext_id=str(n)).account for n in range(3)]
    lines = b"".join(f"{n % 4};5;1;{n}\n".encode() if n % 5 else b"bad\n" for n in range(1, 31))
    drop(runtime, "2024-05-01.cdr", lines)
    (report,) = intake(runtime)
    bad = [n for n in range(1, 31) if n % 5 == 0]
    unknown = [n for n in range(1, 31) if n % 5 and n % 4 == 3]
    assert (report.lines, report.rejected) == (30, len(bad) + len(unknown))
    numbers = [int(line.split(b";")[0]) for line in report.rejects.read_bytes().splitlines()]
    assert numbers == sorted(bad + unknown)
    with runtime.session() as s:
        assert s.scalar(select(func.count()).select_from(Charge)) == report.taken
        assert verify_balances(s) == []
    assert report.taken == 30 - len(bad) - len(unknown)
    zero = sum(n for n in range(1, 31) if n % 4 == 0 and n % 5)
    assert balance(runtime, accounts[0].contract_id) == Decimal(-3 * zero).quantize(Decimal("0.01"))


@pytest.fixture
def abonent_cli(runtime):
    """Run `abonent` against the test's database and var folder."""
    return cli_runner(runtime.settings.database_url, runtime.settings.var_dir,
                      ABONENT_CDR__SETTLE_SECONDS=str(SETTLE))


def test_usage_cli(runtime, counter, abonent_cli):
    """The CLI runs on the real clock: its days are the real yesterday and today."""
    day, before = date.today(), date.today() - timedelta(days=1)
    assert "no files to take" in abonent_cli("usage", "intake").stdout
    drop(runtime, f"wialon_{before}.cdr", b"777;5;1;6\nbroken\n")
    out = abonent_cli("usage", "intake", "--source", "Wialon_1").stdout
    assert (f"Wialon_1/wialon_{before}.cdr ({before}): lines 2, taken 1, duplicates 0, "
            "rejected 1, charged 18.00; rejects in ") in out
    added = abonent_cli("usage", "add", "--ext-id", "777", "--sensor-type", "sensor_1",
                        "--value", "2", "--day", str(day)).stdout
    assert "rated: charge" in added and "balance -24.00" in added
    again = abonent_cli("usage", "add", "--ext-id", "777", "--sensor-type", "1",
                        "--value", "2", "--day", str(day)).stdout
    assert again.startswith("already recorded: usage record")
    refused = abonent_cli("usage", "add", "--ext-id", "404", "--sensor-type", "1",
                          "--value", "2", "--day", str(day)).stdout
    assert "rejected: unknown ext_id 404" in refused
    for args, message in [
        (("--sensor-type", "sensor_9", "--value", "1"), "sensor_type: no sensor type named"),
        (("--sensor-type", "1", "--value", "lots"), "value: 'lots' is not a decimal number"),
        (("--sensor-type", "1", "--value", "1", "--day", "May"), "day: 'May' is not a date"),
        (("--sensor-type", "1", "--value", "1", "--day", "2999-01-01"),
         f"day: 2999-01-01 is outside the allowed dates (from "
         f"{day - timedelta(days=366)} to {day}; [billing] usage_days_back)"),
    ]:
        result = abonent_cli("usage", "add", "--ext-id", "777", *args, ok=False)
        assert message in result.stderr
    assert "source: letters, digits" in abonent_cli("usage", "intake", "--source", "a b",
                                                    ok=False).stderr
    assert balance(runtime, counter.contract_id) == Decimal("-24.00")
