"""A charge run killed mid-way and run again, two runs at once, and payments racing a run:
each ends with exactly the ledger of one uninterrupted run and exact balances."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from core.ledger import verify_balances
from core.models import Charge, Contract, Payment
from support import PROCS, bulk_accounts

ABONENT = Path(sys.executable).parent / "abonent"
DAY = date(2026, 11, 16)  # monthly fee: 15 of 30 days
ACCOUNTS = 20_000


@pytest.fixture
def population(runtime, factory):
    factory.operator()
    tariff = factory.tariff(base=[factory.service(price="4.00", method="daily"),
                                  factory.service(price="300.00", method="monthly")])
    return bulk_accounts(runtime, ACCOUNTS, tariff.id, factory.agent().id, date(2026, 11, 1),
                         balance="1000")


def charge_run(url, tmp_path):
    env = {**os.environ, "ABONENT_DATABASE_URL": url, "ABONENT_VAR_DIR": str(tmp_path)}
    return subprocess.Popen([str(ABONENT), "charge", "run", "--date", DAY.isoformat()], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_one_run_ledger(runtime, contracts):
    with runtime.session() as s:
        count, total, keys = s.execute(select(func.count(), func.sum(Charge.amount),
                                              func.count(Charge.key.distinct()))).one()
        assert count == keys == 2 * len(contracts)
        assert Decimal(str(total)) == len(contracts) * (Decimal("4.00") + Decimal("150.00"))
        assert verify_balances(s) == []


def wait_until_writing(runtime, process, backend, database_path=None, timeout=60):
    """Until the run is inside its INSERTs (PostgreSQL) or its WAL grows (SQLite)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the run ended before it could be killed: " \
                                       f"{process.communicate()}"
        if backend == "postgresql":
            with runtime.engine.connect() as c:
                if c.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                 "WHERE query LIKE 'INSERT INTO charge%'")):
                    return
        elif Path(f"{database_path}-wal").exists() and \
                Path(f"{database_path}-wal").stat().st_size > 1_000_000:
            return
        time.sleep(0.005)
    raise AssertionError("the run never started writing")


def test_killed_run_then_rerun(runtime, population, abonent_database, abonent_backend, tmp_path):
    process = charge_run(abonent_database.url, tmp_path)
    try:
        wait_until_writing(runtime, process, abonent_backend,
                           abonent_database.url.removeprefix("sqlite:///"))
        process.kill()
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    with runtime.session() as s:
        half = s.scalar(select(func.count()).select_from(Charge))
    assert half < 2 * len(population)  # it really died before finishing
    rerun = charge_run(abonent_database.url, tmp_path)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert_one_run_ledger(runtime, population)


@pytest.mark.postgresql_only
def test_two_runs_at_once(runtime, population, abonent_database, tmp_path):
    runs = [charge_run(abonent_database.url, tmp_path) for _ in range(2)]
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    assert_one_run_ledger(runtime, population)


def test_payments_race_a_run(runtime, population, abonent_database, tmp_path):
    payers = [subprocess.Popen([sys.executable, str(PROCS / "pay.py"), abonent_database.url,
                                str(contract_id), "20", f"race{contract_id}"])
              for contract_id in population[:4]]
    run = charge_run(abonent_database.url, tmp_path)
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err
    assert [p.wait(timeout=300) for p in payers] == [0] * 4
    assert_one_run_ledger(runtime, population)
    with runtime.session() as s:
        paid = s.scalar(select(func.sum(Payment.amount)).where(Payment.source == "race"))
        assert Decimal(str(paid)) == Decimal("80.00")
        for contract_id in population[:4]:
            assert s.get(Contract, contract_id).balance == Decimal("1000") - Decimal("154") + 20
