"""`abonent manager locked` / `unlock`: an administrator locked out of the admin (the only
one, say) is let in again from the command line, audited."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import now
from core.db import make_engine
from core.models import AuditEntry, LoginThrottle
from support import cli_runner


@pytest.fixture
def cli(empty_database_url, tmp_path):
    run = cli_runner(empty_database_url, tmp_path)
    run("db", "upgrade")
    return run


def test_a_locked_login_is_listed_and_unlocked_from_the_command_line(cli, empty_database_url):
    engine = make_engine(empty_database_url)
    at = now()
    with Session(engine) as s:
        s.add_all([LoginThrottle(key="login:admin", failures=10, last_failed_at=at,
                                 locked_until=at + timedelta(minutes=15)),
                   LoginThrottle(key="addr:10.0.0.9", failures=1, last_failed_at=at),
                   LoginThrottle(key="my-login:u00001", failures=10, last_failed_at=at,
                                 locked_until=at + timedelta(minutes=15))])
        s.commit()
    listed = cli("manager", "locked").stdout
    assert "login:admin" in listed and "locked out" in listed and "10.0.0.9" not in listed
    assert cli("manager", "unlock", "Admin").stdout.strip() == "login:admin unlocked"
    # a subscriber locked out of the cabinet, by the key the list shows
    assert cli("manager", "unlock", "my-login:u00001").stdout.strip() == "my-login:u00001 unlocked"
    assert cli("manager", "locked").stdout.strip() == "no login or address is held back"
    refused = cli("manager", "unlock", "addr:10.0.0.1", ok=False)
    assert "addr:10.0.0.1" in refused.stderr + refused.stdout
    with Session(engine) as s:
        assert s.get(LoginThrottle, "login:admin") is None
        assert s.get(LoginThrottle, "my-login:u00001") is None
        assert s.get(LoginThrottle, "addr:10.0.0.9") is not None
        assert s.scalar(select(AuditEntry.actor).where(
            AuditEntry.action == "login_unlocked")) == "cli"
    engine.dispose()
