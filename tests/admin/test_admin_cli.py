"""`abonent manager`: the first administrator's password without the link, managers and
one-time links from the command line, and `abonent serve` printing the first-start link."""
from __future__ import annotations

import re
import subprocess
import time
import urllib.request

import pytest
from sqlalchemy import select

from core.db import make_engine
from core.models import AuditEntry, Manager
from support import ABONENT, cli_runner



@pytest.fixture
def cli(empty_database_url, tmp_path):
    """Run `abonent` against a fresh, migrated database of the backend under test."""
    run = cli_runner(empty_database_url, tmp_path)
    run("db", "upgrade")
    return run


def _managers(url):
    engine = make_engine(url)
    with engine.connect() as c:
        rows = {login: hashed for login, hashed in c.execute(
            select(Manager.login, Manager.password_hash))}
        actors = set(c.scalars(select(AuditEntry.actor)))
    engine.dispose()
    return rows, actors


def test_manager_create_admin_sets_the_first_password(cli):
    listed = cli("manager", "list").stdout
    assert re.search(r"admin\s+administrator\s+no password", listed)
    short = cli("manager", "create", "--admin", "--password-stdin", stdin="short\n", ok=False)
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    assert "Traceback" not in short.stderr
    done = cli("manager", "create", "--admin", "--password-stdin", stdin="correct horse 42\n")
    assert "password of admin (administrator) set" in done.stdout
    rows, actors = _managers(cli.url)
    assert rows["admin"].startswith("$argon2") and "cli" in actors


def test_manager_create_password_link_and_list(cli):
    made = cli("manager", "create", "anna", "--role", "cashier", "--name", "Anna K",
               "--language", "pl", "--password-stdin", stdin="anna's secret\n")
    assert "manager anna created with role cashier" in made.stdout
    again = cli("manager", "create", "anna", "--password-stdin", stdin="whatever1\n", ok=False)
    assert "exists" in again.stderr and "abonent manager password anna" in again.stderr
    unknown = cli("manager", "create", "bob", "--role", "boss", "--password-stdin",
                  stdin="whatever1\n", ok=False)
    assert "no role 'boss'" in unknown.stderr
    assert "password of anna set" in cli("manager", "password", "anna", "--password-stdin",
                                         stdin="another secret\n").stdout
    link = cli("manager", "link", "anna", "--base-url", "https://billing.example/").stdout
    assert re.search(r"https://billing\.example/setup/[\w-]{40,}", link)
    assert "no manager 'zed'" in cli("manager", "link", "zed", ok=False).stderr
    assert "usage" in cli("manager", "create", ok=False).stderr.lower()
    listed = cli("manager", "list").stdout
    assert re.search(r"anna\s+cashier\s+password set", listed)


def test_serve_prints_a_first_start_link_that_works(cli, tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(ABONENT), "serve", "--port", str(port), "--no-worker"],
                              env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("/setup/" in line for line in lines):
            lines.append(server.stdout.readline())
        link = re.search(r"(http://127\.0\.0\.1:\d+/setup/\S+)", "".join(lines))[1]
        with urllib.request.urlopen(link, timeout=10) as response:
            assert response.status == 200 and "Set the password of admin" in response.read().decode()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/", timeout=10)
        except urllib.error.HTTPError as exc:
            assert exc.code == 503  # nothing is served before an administrator has a password
        else:
            pytest.fail("the admin answered before it was set up")
    finally:
        server.terminate()
        server.wait(timeout=30)
