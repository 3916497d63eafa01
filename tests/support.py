"""Helpers for Abonent's own tests (fixtures come from plugins.testing and conftest.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from core.models import Base

ROOT = Path(__file__).resolve().parent.parent
PROCS = Path(__file__).resolve().parent / "procs"
ABONENT = Path(sys.executable).parent / "abonent"  # the installed console script


def cli_runner(url: str, var_dir: Path, **env: str):
    """`run(*args, stdin="", ok=True)`: `abonent` in a child process against `url`, with
    `env` added to its environment. Whatever the outcome, it never shows a traceback;
    `ok` says whether it must succeed or fail. `run.url` and `run.env` are what it used."""
    env = {**os.environ, "ABONENT_DATABASE_URL": url, "ABONENT_VAR_DIR": str(var_dir), **env}
    env.pop("ABONENT_CONFIG", None)

    def run(*args: str, stdin: str = "", ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(ABONENT), *args], env=env, input=stdin,
                                capture_output=True, text=True, timeout=300)
        assert "Traceback" not in result.stderr, result.stderr
        assert (result.returncode == 0) == ok, result.stderr or result.stdout
        return result
    run.url, run.env = url, env
    return run


def row_counts(session) -> dict[str, int]:
    """Rows per table: "the database is unchanged" is these counts staying equal."""
    return {table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables}


def fake_distribution(where: Path, name: str, entry_points: dict[str, str]) -> Path:
    """Make `name` look installed with these `abonent.plugins` entry points, the way pip
    leaves a plugin: a .dist-info folder on sys.path. Returns the folder to put on the path.
    """
    info = where / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    lines = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[abonent.plugins]\n{lines}")
    return where


def bulk_accounts(runtime, count: int, tariff_id: int, agent_id: int, start_on,
                  balance: str = "0") -> list[int]:
    """`count` subscribers, each with a contract (opened by a payment of `balance`), an
    account on the tariff and its base subscriptions, inserted with executemany (fast on
    both databases). Returns contract ids. Test data only: it bypasses the service
    layer's events on purpose."""
    from decimal import Decimal

    from sqlalchemy import insert, select

    from core.clock import now
    from core.models import (Account, Contract, Operator, Payment, Subscriber, Subscription,
                             TariffService)
    at = now()
    with runtime.session() as s:
        operator_id = s.scalar(select(Operator.id).order_by(Operator.id))
        base = list(s.scalars(select(TariffService.service_id).where(
            TariffService.tariff_id == tariff_id, TariffService.is_base.is_(True))))
        first = (s.scalar(select(Subscriber.id).order_by(Subscriber.id.desc())) or 0) + 1
        ids = range(first, first + count)
        s.execute(insert(Subscriber), [{"id": i, "kind": "person", "name": f"Bulk {i}",
                                        "addresses": [], "created_at": at} for i in ids])
        s.execute(insert(Contract), [{"id": i, "number": f"B-{i}", "subscriber_id": i,
                                      "operator_id": operator_id, "balance": Decimal(balance),
                                      "credit_limit": Decimal(0), "do_not_block": False,
                                      "created_at": at} for i in ids])
        if Decimal(balance):
            s.execute(insert(Payment), [{"contract_id": i, "amount": Decimal(balance),
                                         "source": "bulk", "external_id": f"bulk-{i}",
                                         "received_at": at, "created_by": "test",
                                         "created_at": at} for i in ids])
        s.execute(insert(Account), [{"id": i, "contract_id": i, "login": f"bulk{i}",
                                     "agent_id": agent_id, "tariff_id": tariff_id, "fields": {},
                                     "created_at": at, "updated_at": at} for i in ids])
        s.execute(insert(Subscription), [
            {"account_id": i, "service_id": service_id, "state": "active", "is_base": True,
             "start_on": start_on, "created_at": at} for i in ids for service_id in base])
    return list(ids)
