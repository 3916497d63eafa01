"""The `abonent` command line against a real database: db, demo, events."""
from __future__ import annotations


import pytest
from sqlalchemy import func, select

from core import migrate
from core.models import Account, Contract, Payment, Subscriber, Subscription, Ticket
from support import cli_runner



@pytest.fixture
def cli(empty_database_url, tmp_path):
    """Run `abonent` with a fresh database of the backend under test; the installed
    plugins stay out (their demo data and jobs are their own tests' business)."""
    return cli_runner(empty_database_url, tmp_path,
                      ABONENT_PLUGINS__DISABLED="tv24,wialon,jambox,nas_oss")


def test_db_commands(cli):
    assert "core: base (empty)" in cli("db", "current").stdout
    assert f"database at revision {migrate.head()}" in cli("db", "upgrade").stdout
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
        # the HelpDesk queue has two subscribers' requests and a connection request
        assert sorted(c.execute(select(Ticket.kind, Ticket.status))) == [
            ("connection", "new"), ("request", "new"), ("request", "new")]
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


def test_an_argument_that_is_not_utf8_is_refused_before_any_command(cli):
    """Bytes that are not UTF-8 reach Python as lone surrogates, which no database stores:
    every command refuses them by position, without a traceback (PostgreSQL's driver
    raised UnicodeEncodeError from `manager password`)."""
    cli("db", "upgrade")
    for args in (("manager", "password", "\udcff"), ("payment", "add", "C-\udcfe", "10")):
        refused = cli(*args, ok=False)
        assert refused.returncode == 2
        assert "is not valid UTF-8" in refused.stderr
