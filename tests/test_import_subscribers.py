"""Migration in: the sample export (docs/samples/subscribers.csv) through a dry run that
writes nothing, an import with a report per line and the opening balances as money, and
a second import that creates nothing; a cp1251 file with ',' and English titles; the
command line."""
from __future__ import annotations

from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.import_subscribers import import_subscribers
from core.ledger import verify_balances
from core.models import Account, Contract, Payment, Subscriber
from core.state import account_state
from support import ROOT

SAMPLE = ROOT / "docs" / "samples" / "subscribers.csv"
D = Decimal
BAD = [(6, "rejected", "M-0005", "phone"), (7, "rejected", "M-0006", "tariff"),
       (8, "rejected", "M-0001", "contract")]


def outcomes(report) -> list[tuple]:
    return [(line.line, line.outcome, line.contract, line.field) for line in report.lines
            if line.outcome != "header"]


def balances(runtime) -> dict[str, Decimal]:
    with runtime.session() as s:
        return dict(s.execute(select(Contract.number, Contract.balance)).all())


def test_dry_run_import_and_import_again(runtime, import_catalog, counts):
    data = SAMPLE.read_bytes()
    before = counts()
    dry = import_subscribers(runtime, data, name=SAMPLE.name, source="1c", dry_run=True)
    created = [(n, "created", f"M-000{n - 1}", None) for n in (2, 3, 4, 5)]
    assert outcomes(dry) == created + BAD
    assert dry.lines[5].reason == "'телефон не указан' is not a phone number"
    assert dry.lines[6].reason == "no tariff named 'Home 1000'"
    assert dry.lines[7].reason == "M-0001 is also on line 2"
    assert counts() == before
    done = import_subscribers(runtime, data, name=SAMPLE.name, source="1c")
    assert outcomes(done) == created + BAD
    assert done.summary() == "subscribers.csv: created 4, already imported 0, rejected 3"
    assert balances(runtime) == {"M-0001": D("250.00"), "M-0002": D("-1200.50"),
                                 "M-0003": D("0.00"), "M-0004": D("75.50")}
    with runtime.session() as s:
        assert verify_balances(s) == []
        opening = s.execute(select(Payment.kind, Payment.source, Payment.external_id,
                                   Payment.amount).order_by(Payment.id)).all()
        assert opening == [("imported", "opening", "1c:1C-0001", D("250.00")),
                           ("imported", "opening", "1c:1C-0002", D("-1200.50")),
                           ("imported", "opening", "1c:1C-0004", D("75.50"))]
        petrova = s.scalars(select(Account).where(Account.login == "petrova")).one()
        assert account_state(s, petrova.id) == "balance"  # a debt blocks as the billing does
        company = s.scalars(select(Subscriber).where(Subscriber.tax_id == "5902123456")).one()
        assert company.kind == "company" and company.name == "ООО «Ромашка»"
        assert [p.number for p in s.scalars(select(Subscriber).where(
            Subscriber.name == "Петрова Анна Сергеевна")).one().phones] == [
            "89123456702", "73422000002"]
    after = counts()
    again = import_subscribers(runtime, data, name=SAMPLE.name, source="1c")
    assert outcomes(again) == [(n, "already imported", c, None) for n, _, c, _ in created] + BAD
    assert counts() == after
    assert balances(runtime)["M-0002"] == D("-1200.50")


@pytest.mark.sqlite_only
def test_a_cp1251_file_with_commas(runtime, factory):
    factory.operator()
    data = ("name,contract,tax_id,balance,address\n"
            "\"ЗАО \"\"Вектор\"\"\",V-1,7701234567,\"1 000,00\",Москва,,\n"
            "Без договора,,,,\n"
            "Лишнее,V-2,,,,x\n").encode("cp1251")
    report = import_subscribers(runtime, data, name="vector.csv")
    assert (report.encoding, report.delimiter) == ("cp1251", ",")
    assert outcomes(report) == [(2, "created", "V-1", None), (3, "rejected", None, "contract"),
                                (4, "rejected", "V-2", "line")]
    with runtime.session() as s:
        vector = s.scalars(select(Subscriber).where(Subscriber.name == 'ЗАО "Вектор"')).one()
        assert (vector.kind, vector.addresses) == ("company", [{"kind": "postal",
                                                                "text": "Москва"}])
    assert balances(runtime) == {"V-1": D("1000.00")}


@pytest.mark.sqlite_only
def test_the_command_line(runtime, import_catalog, abonent_database, tmp_path, counts):
    env = {"ABONENT_DATABASE_URL": abonent_database.url, "ABONENT_VAR_DIR": str(tmp_path),
           "ABONENT_PLUGINS__DISABLED": "tv24,wialon,jambox,nas_oss", "ABONENT_CONFIG": ""}
    from admin.cli import cli
    before = counts()
    result = CliRunner().invoke(cli, ["import", "subscribers", str(SAMPLE), "--dry-run",
                                      "--source", "1c", "--report", str(tmp_path / "r.csv")],
                                env=env)
    assert result.exit_code == 1, result.output
    assert "line 6: rejected M-0005 - phone: 'телефон не указан' is not a phone number" in (
        result.output)
    assert result.output.splitlines()[-1] == ("subscribers.csv: would be created 4, already "
                                              "imported 0, rejected 3 (dry run: nothing was "
                                              "written)")
    assert (tmp_path / "r.csv").read_text().splitlines()[2] == "2,created,M-0001,,"
    assert counts() == before
    missing = CliRunner().invoke(cli, ["import", "subscribers", str(tmp_path / "no.csv")],
                                 env=env)
    assert missing.exit_code == 1 and "file: " in missing.output
