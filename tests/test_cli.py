"""The `abonent` command line against a real database: db, demo, events."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.models import Account, Contract, Payment, Subscriber, Subscription

ABONENT = Path(sys.executable).parent / "abonent"


@pytest.fixture
def cli(abonent_backend, tmp_path):
    """Run `abonent` with a fresh database of the backend under test."""
    from plugins.testing import create_postgres_database, postgres_url
    url = (f"sqlite:///{tmp_path / 'cli.db'}" if abonent_backend == "sqlite"
           else create_postgres_database(postgres_url(), "abonent_cli"))
    # the installed plugins stay out: their demo data and jobs are their own tests' business
    env = {**os.environ, "ABONENT_DATABASE_URL": url, "ABONENT_VAR_DIR": str(tmp_path),
           "ABONENT_PLUGINS__DISABLED": "tv24,wialon"}

    def run(*args, ok=True):
        result = subprocess.run([str(ABONENT), *args], env=env, capture_output=True, text=True,
                                timeout=300)
        if ok:
            assert result.returncode == 0, result.stderr
        return result
    run.url = url
    return run


def test_db_commands(cli):
    assert "current: base (empty)" in cli("db", "current").stdout
    assert "database at revision 0001" in cli("db", "upgrade").stdout
    assert "models and migrations agree" in cli("db", "check").stdout
    assert "base (empty)" in cli("db", "downgrade", "base").stdout
    cli("db", "upgrade")


def test_demo_load_once(cli):
    from core.db import make_engine
    cli("db", "upgrade")
    assert "demo data loaded: 40 subscribers" in cli("demo", "load", "--subscribers", "40").stdout
    assert "already loaded" in cli("demo", "load").stdout
    engine = make_engine(cli.url)
    with engine.connect() as c:
        count = lambda model: c.scalar(select(func.count()).select_from(model))  # noqa: E731
        assert (count(Subscriber), count(Contract), count(Account)) == (40, 40, 40)
        # one payment on the 5th of each month replayed (last month's and, after the 5th, this one's)
        assert count(Subscription) == 40 and 20 < count(Payment) <= 80
    engine.dispose()


def test_events_commands(cli):
    cli("db", "upgrade")
    assert "give delivery ids or --all-dead" in cli("events", "retry", ok=False).stderr
    assert "0 deliveries queued again" in cli("events", "retry", "--all-dead").stdout
    assert "delivered 0 deliveries" in cli("worker", "--once").stdout
    cli("events", "list", "--state", "dead")


def test_unmigrated_database_is_explained(cli):
    result = cli("demo", "load", ok=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "abonent db upgrade" in result.stderr
