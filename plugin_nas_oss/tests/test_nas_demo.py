"""The demo as `make run` plays it: `abonent demo load` with the plugin, `abonent serve
--demo` starting the emulated NAS and the RADIUS server and logging the demo accounts in;
blocking one sends user_drop and b_admin, unblocking u_b_admin and user_accept; radclient
authenticates a demo account."""
from __future__ import annotations

import shutil
import socket
import subprocess

import pytest
from sqlalchemy import select

from core import demo as core_demo
from core import lift_block, set_block
from core.models import Account
from plugin_nas_oss import demo


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def started(runtime, monkeypatch, drain):
    for name in ("COA_PORT", "AUTH_PORT", "ACCT_PORT"):
        monkeypatch.setattr(demo, name, free_udp_port())
    with runtime.session(actor="cli") as s:
        assert core_demo.load(s, subscribers=3)
    services = runtime.pm.call_one("abonent_demo_services", "nas_oss", runtime=runtime)
    drain()  # (a NAS not started yet would be silent: its deliveries would wait)
    yield services
    for service in services:
        service.stop()


def test_block_and_unblock_a_demo_account_on_the_emulated_nas(runtime, started, drain, nas_log):
    emulator, server = started
    assert sorted(s.username for s in emulator.state.sessions.values()) == [
        "ivanov", "kozlov", "smirnova"]
    with runtime.session() as s:
        ivanov = s.scalar(select(Account.id).where(Account.login == "ivanov"))
        set_block(s, ivanov, "admin")
    drain()
    session = emulator.state.session_of("ivanov")
    assert (session.address_list, session.rate) == ("blocked_admin", "1M/1M")
    with runtime.session() as s:
        lift_block(s, ivanov, "admin")
    drain()
    assert (session.address_list, session.rate) == ("allowed", "100M/100M")
    assert nas_log(ivanov) == [("usluga_activated", "ack"), ("user_drop", "ack"), ("b_admin", "ack"),
                               ("usluga_deactivated", "ack"), ("u_b_admin", "ack"),
                               ("user_accept", "ack"), ("usluga_activated", "ack")]


def test_radclient_authenticates_a_demo_account(started):
    assert shutil.which("radclient"), "radclient is missing: scripts/ensure-radclient.sh"
    emulator, server = started
    done = subprocess.run(
        ["radclient", "-x", "-r", "1", "-t", "2", f"127.0.0.1:{server.auth_port}", "auth",
         demo.RADIUS_SECRET],
        input='User-Name = "ivanov", User-Password = "demo-ivanov", Message-Authenticator = 0x00',
        capture_output=True, text=True, timeout=15)
    assert done.returncode == 0 and "Received Access-Accept" in done.stdout, done.stdout
