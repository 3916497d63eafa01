"""The billing's RADIUS server against FreeRADIUS's radclient (a real NAS's peer) and raw
UDP: who gets in with what, what the accounting table keeps, and what is dropped while
the server keeps serving."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyrad import packet as rp
from sqlalchemy import select

from core import set_block
from plugin_nas_oss.command_log import NasCommand
from plugin_nas_oss.dictionary import load
from plugin_nas_oss.radius_server_cli import start
from plugin_nas_oss.sessions import NasSession


@pytest.fixture(autouse=True)
def _radclient_is_there():
    """A real peer, never skipped: without radclient these tests fail saying so."""
    assert shutil.which("radclient"), "radclient is missing: scripts/ensure-radclient.sh"


RADIUS_SECRET = "radius-secret-2c9d"  # the conftest's NAS agent shares it


@pytest.fixture
def radius(runtime, nas):
    assert nas.agent.settings["radius_secret"] == RADIUS_SECRET
    server = start(runtime, auth_port=0, acct_port=0, refresh=0)  # the billing as it is now
    yield server
    server.stop()


def radclient(port: int, kind: str, text: str, secret: str = RADIUS_SECRET) -> str:
    """radclient's verbose output for one request (it retries 3 times, 1 s apart)."""
    done = subprocess.run(["radclient", "-x", "-r", "1", "-t", "1", f"127.0.0.1:{port}", kind,
                           secret], input=text, capture_output=True, text=True, timeout=30)
    return done.stdout + done.stderr


def auth(server, text: str, **kw) -> str:
    return radclient(server.auth_port, "auth", text + ', Message-Authenticator = 0x00', **kw)


def acct(server, text: str, **kw) -> str:
    return radclient(server.acct_port, "acct", text, **kw)


def sessions(session) -> list[NasSession]:
    """The accounting table now, read in a transaction of its own: a read left open would
    hold SQLite's lock against the server's next write (and PostgreSQL's snapshot)."""
    session.rollback()
    rows = list(session.scalars(select(NasSession).order_by(NasSession.id)))
    session.expunge_all()
    session.rollback()
    return rows


# --- Access-Request ---------------------------------------------------------------------

def test_a_login_with_its_password_gets_full_service(radius, nas):
    nas.account("bob", fields={"ip": "10.0.0.5"})
    out = auth(radius, 'User-Name = "bob", User-Password = "pw"')
    assert "Received Access-Accept" in out
    assert "Framed-IP-Address = 10.0.0.5" in out
    assert 'Mikrotik-Address-List = "allowed"' in out
    assert radius.counters["accepted"] == 1


def test_chap_is_checked_too(radius, nas):
    nas.account("bob")
    assert "Access-Accept" in auth(radius, 'User-Name = "bob", CHAP-Password = "pw"')
    assert "Access-Reject" in auth(radius, 'User-Name = "bob", CHAP-Password = "nope"')


@pytest.mark.parametrize("login, password", [("bob", "wrong"), ("nobody", "pw"), ("bob", "")])
def test_a_wrong_password_or_login_is_rejected(radius, nas, login, password):
    nas.account("bob")
    out = auth(radius, f'User-Name = "{login}", User-Password = "{password}"')
    assert "Received Access-Reject" in out
    assert radius.counters["rejected"] == 1 and radius.counters["accepted"] == 0


def test_a_negative_balance_gets_the_redirect_and_an_admin_block_its_list(radius, nas, block,
                                                                         session, settle):
    account = nas.account("bob")
    set_block(session, account.id, "balance", system=True)  # as the billing day does
    settle()
    assert 'Mikrotik-Address-List = "negative_balance"' in auth(
        radius, 'User-Name = "bob", User-Password = "pw"')
    block(account, "admin")
    assert 'Mikrotik-Address-List = "blocked_admin"' in auth(
        radius, 'User-Name = "bob", User-Password = "pw"')


def test_a_blocked_account_is_refused_when_the_profile_has_no_redirect(radius, nas, block):
    nas.configure(profile="accel_ppp", commands={"b_admin": {"transport": "none"}})
    account = nas.account("bob")
    block(account, "admin")
    out = auth(radius, 'User-Name = "bob", User-Password = "pw"')
    assert "Received Access-Reject" in out and "blocked (admin)" in out
    block(account, "disabled")
    assert "Received Access-Reject" in auth(radius, 'User-Name = "bob", User-Password = "pw"')


def test_an_ipoe_account_is_found_by_its_ip_or_mac(radius, nas):
    nas.account("ipoe1", fields={"auth_type": "ipoe", "ip": "10.0.0.9",
                                 "mac": "00-1A-2B-3C-4D-5E"})
    nas.account("ppp", fields={"ip": "10.0.0.10"})
    assert "Access-Accept" in auth(radius, 'User-Name = "x", Framed-IP-Address = 10.0.0.9')
    assert "Access-Accept" in auth(radius, 'User-Name = "x", Calling-Station-Id = "001a.2b3c.4d5e"')
    # a PPPoE account's IP without its password does not let anyone in
    assert "Access-Reject" in auth(radius, 'User-Name = "x", Framed-IP-Address = 10.0.0.10')


# --- Accounting-Request -----------------------------------------------------------------

def test_start_interim_stop_keep_the_session_and_stop_logs_rad_acc_stop(radius, nas, session):
    account = nas.account("bob")
    base = 'User-Name = "bob", Acct-Session-Id = "81a0001", Framed-IP-Address = 10.0.0.5'
    assert "Accounting-Response" in acct(radius, base + ", Acct-Status-Type = Start")
    (row,) = sessions(session)
    assert (row.account_id, row.framed_ip, row.stopped_at) == (account.id, "10.0.0.5", None)
    acct(radius, base + ", Acct-Status-Type = Interim-Update, Acct-Input-Octets = 1000, "
                        "Acct-Output-Octets = 5000, Acct-Output-Gigawords = 1")
    (row,) = sessions(session)
    assert (row.octets_in, row.octets_out) == (1000, 2 ** 32 + 5000)
    assert "Accounting-Response" in acct(radius, base + ", Acct-Status-Type = Stop, "
                                         "Acct-Terminate-Cause = User-Request")
    (row,) = sessions(session)
    assert row.stopped_at is not None and row.terminate_cause == "User-Request"
    acct(radius, base + ", Acct-Status-Type = Stop, Acct-Delay-Time = 5")  # sent again
    assert radius.counters["accounted"] == 4
    session.rollback()
    (logged,) = session.scalars(select(NasCommand))
    assert (logged.command, logged.account_id, logged.target) == ("rad_acc_stop", account.id,
                                                                  "81a0001")
    assert "User-Request" in logged.answer


def test_accounting_on_is_acknowledged_and_not_recorded(radius, nas, session):
    out = acct(radius, 'NAS-IP-Address = 127.0.0.1, Acct-Status-Type = Accounting-On, '
                       'Acct-Session-Id = "0"')
    assert "Received Accounting-Response" in out
    assert sessions(session) == []


def test_an_accounting_request_with_a_wrong_secret_is_dropped(radius, nas, session):
    nas.account("bob")
    out = acct(radius, 'User-Name = "bob", Acct-Session-Id = "s1", Acct-Status-Type = Start',
               secret="wrong")
    assert "Accounting-Response" not in out
    assert sessions(session) == []
    assert radius.counters["bad_authenticator"] >= 1


# --- dropped, and the server keeps serving -----------------------------------------------

def test_an_access_request_without_message_authenticator_is_dropped(radius, nas):
    nas.account("bob")
    out = radclient(radius.auth_port, "auth", 'User-Name = "bob", User-Password = "pw"')
    assert "Access-Accept" not in out and "Access-Reject" not in out
    assert radius.counters["missing_message_authenticator"] >= 1
    assert "Access-Accept" in auth(radius, 'User-Name = "bob", User-Password = "pw"')


def test_a_wrong_secret_is_dropped(radius, nas):
    nas.account("bob")
    out = auth(radius, 'User-Name = "bob", User-Password = "pw"', secret="not-the-secret")
    assert "Received" not in out
    assert radius.counters["bad_authenticator"] >= 1


class Raw:
    """A NAS of our own making: raw datagrams, pyrad-built requests, replies as bytes."""

    def __init__(self, server, source="127.0.0.1"):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((source, 0))
        self.sock.settimeout(0.5)

    def send(self, data: bytes, port: int | None = None) -> bytes | None:
        self.sock.sendto(data, ("127.0.0.1", port or self.server.auth_port))
        try:
            return self.sock.recv(8192)
        except socket.timeout:
            return None

    def access(self, login="bob", password="pw", secret=RADIUS_SECRET, **attrs) -> rp.AuthPacket:
        pkt = rp.AuthPacket(secret=secret.encode(), dict=load(), User_Name=login, **attrs)
        pkt["User-Password"] = pkt.PwCrypt(password)
        pkt.add_message_authenticator()
        return pkt


@pytest.fixture
def raw(radius):
    client = Raw(radius)
    yield client
    client.sock.close()


@pytest.mark.parametrize("data, reason", [
    (b"\x01\x02", "malformed"),                                      # shorter than a header
    (b"\x01\x02\x00\x10" + b"\x00" * 16, "malformed"),                # Length below 20
    (b"\x01\x02\x04\x00" + b"\x00" * 16, "malformed"),                # Length past the data
    (b"\x01\x02\x00\x17" + b"\x00" * 16 + b"\x01\x01\x00", "malformed"),  # attribute length 1
    (b"\x01\x02\x10\x00" + b"\x00" * 16 + (b"\x19\xff" + b"x" * 253) * 15  # 4096: not
     + b"\x19\xfb" + b"x" * 249, "missing_message_authenticator"),          # oversized
    (b"\x01\x02\x00\x14" + b"\x00" * 5000, "oversized"),
])
def test_malformed_and_oversized_datagrams_are_dropped_and_counted(radius, nas, raw, data, reason):
    nas.account("bob")
    assert raw.send(data) is None
    assert radius.counters[reason] == 1
    reply = raw.send(raw.access().RequestPacket())  # and the server still answers
    assert reply is not None and reply[0] == rp.AccessAccept


def test_an_accounting_packet_on_the_auth_port_is_dropped(radius, nas, raw):
    pkt = rp.AcctPacket(secret=RADIUS_SECRET.encode(), dict=load(), User_Name="bob")
    assert raw.send(pkt.RequestPacket()) is None
    assert radius.counters["malformed"] == 1


def test_a_tampered_message_authenticator_is_dropped(radius, nas, raw):
    nas.account("bob")
    data = bytearray(raw.access().RequestPacket())
    assert data[20] == 80  # Message-Authenticator comes first: spoil its value
    data[30] ^= 0x01
    assert raw.send(bytes(data)) is None
    assert radius.counters["bad_authenticator"] == 1


def test_an_unknown_client_is_dropped(radius, nas):
    nas.account("bob")
    stranger = Raw(radius, source="127.0.0.2")
    assert stranger.send(stranger.access().RequestPacket()) is None
    assert radius.counters["unknown_client"] == 1


def test_unknown_attributes_are_answered(radius, nas, raw):
    nas.account("bob")
    pkt = raw.access()
    pkt[250] = [b"\x01\x02\x03"]           # an attribute no dictionary names
    pkt[(9999, 7)] = [b"vendor-thing"]     # an unknown vendor's
    reply = raw.send(pkt.RequestPacket())
    assert reply is not None and reply[0] == rp.AccessAccept


def test_a_duplicate_gets_the_cached_reply_without_a_second_session_write(radius, nas, raw,
                                                                           session):
    nas.account("bob")
    pkt = rp.AcctPacket(secret=RADIUS_SECRET.encode(), dict=load(), User_Name="bob",
                        Acct_Session_Id="dup1", Acct_Status_Type="Stop")
    data = pkt.RequestPacket()
    first = raw.send(data, radius.acct_port)
    (row,) = sessions(session)
    stopped = row.stopped_at
    time.sleep(0.05)
    assert raw.send(data, radius.acct_port) == first
    assert radius.counters["duplicate"] == 1 and radius.counters["accounted"] == 1
    (row,) = sessions(session)
    assert row.stopped_at == stopped


def test_a_duplicate_access_request_is_answered_alike(radius, nas, raw):
    nas.account("bob")
    data = raw.access().RequestPacket()
    first = raw.send(data)
    assert first is not None and first[0] == rp.AccessAccept
    assert raw.send(data) == first
    assert radius.counters["duplicate"] == 1


def test_the_reply_carries_a_valid_message_authenticator(radius, nas, raw):
    nas.account("bob")
    request = raw.access()
    data = raw.send(request.RequestPacket())
    reply = rp.AuthPacket(packet=data, secret=RADIUS_SECRET.encode(), dict=load())
    assert request.VerifyReply(reply, data, enforce_ma=True)


def test_a_reply_naming_the_session_is_not_reused_for_another(runtime, nas):
    nas.configure(commands={"user_accept": {"transport": "coa",
                                            "attributes": [["Filter-Id", "s-{session_id}"]]}})
    nas.account("bob")
    server = start(runtime, auth_port=0, acct_port=0, refresh=3600)  # one read: replies reused
    client = Raw(server)
    try:
        for session_id in ("s1", "s2", "s1"):
            data = client.send(client.access(Acct_Session_Id=session_id).RequestPacket())
            reply = rp.AuthPacket(packet=data, secret=RADIUS_SECRET.encode(), dict=load())
            assert reply["Filter-Id"] == [f"s-{session_id}"]
    finally:
        client.sock.close()
        server.stop()


def test_a_nas_added_while_serving_is_known_without_a_restart(radius, nas, factory):
    factory.agent(type="nas", name="NAS 2", address="127.0.0.3", coa_secret="c",
                  radius_secret="second")
    other = Raw(radius, source="127.0.0.3")
    reply = other.send(other.access("nobody", secret="second").RequestPacket())
    assert reply is not None and reply[0] == rp.AccessReject


def test_the_directory_follows_the_billing_on_each_refresh(runtime, nas, block, lift):
    from core import change_account, trash_account
    from plugin_nas_oss.radius_server_directory import Directory
    directory = Directory(runtime, refresh=3600)
    bob = nas.account("bob", fields={"ip": "10.0.0.5"})
    directory.read(full=True)
    assert directory.by_login(nas.agent.id, "bob").fields["ip"] == "10.0.0.5"
    assert directory.fresh().by_login(nas.agent.id, "eve") is None  # not due: no read
    nas.account("eve")
    block(bob, "admin")
    with runtime.session() as s:
        change_account(s, bob.id, fields={"ip": "10.0.0.7", "radius_password": "pw"})
    directory.read(full=False)  # what changed since the last read
    assert directory.by_login(nas.agent.id, "eve") is not None
    assert directory.by_field(nas.agent.id, "ip", "10.0.0.7").id == bob.id
    assert directory.by_field(nas.agent.id, "ip", "10.0.0.5") is None
    assert directory.state(bob.id) == "admin"
    lift(bob, "admin")
    with runtime.session() as s:
        trash_account(s, bob.id)
    directory.read(full=False)
    assert directory.by_login(nas.agent.id, "bob") is None and directory.state(bob.id) == "active"



@pytest.fixture
def abonent(runtime, tmp_path):
    """`abonent …` as a child process on the test's database."""
    env = {**os.environ, "ABONENT_DATABASE_URL": runtime.settings.database_url,
           "ABONENT_VAR_DIR": str(tmp_path)}
    env.pop("ABONENT_CONFIG", None)
    return lambda *args, **kw: subprocess.Popen(
        [str(Path(sys.executable).parent / "abonent"), *args], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_abonent_nas_radius_serves_until_interrupted(nas, abonent):
    nas.account("bob")
    auth_port, acct_port = _free_port(), _free_port()
    server = abonent("nas", "radius", "--auth-port", str(auth_port), "--acct-port", str(acct_port))
    try:
        assert server.stdout.readline().startswith(f"RADIUS on 127.0.0.1: auth {auth_port}")
        assert "Received Access-Accept" in radclient(auth_port, "auth", 'User-Name = "bob", '
                                                     'User-Password = "pw", '
                                                     'Message-Authenticator = 0x00')
    finally:
        server.send_signal(signal.SIGINT)
        stdout, stderr = server.communicate(timeout=30)
    assert "Traceback" not in stderr
    assert "stopped: accepted 1, received 1" in stdout


def test_abonent_nas_radius_names_a_port_it_cannot_take(nas, abonent):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        stdout, stderr = abonent("nas", "radius", "--auth-port", str(port)).communicate(timeout=60)
    assert "Traceback" not in stderr
    assert f"cannot listen on 127.0.0.1 ports {port}/1813" in stderr


# --- Accounting that arrives together: one transaction, replies only once it is in ----

def accounting(session_id: str, status: str, octets: int = 0) -> bytes:
    return rp.AcctPacket(secret=RADIUS_SECRET.encode(), dict=load(), User_Name="bob",
                         Acct_Session_Id=session_id, Acct_Status_Type=status,
                         Acct_Input_Octets=octets).RequestPacket()


def burst(raw: Raw, datagrams: list[bytes], wait: float = 0.5, expect: int = 0) -> list[bytes]:
    """Send the datagrams back to back, then every reply that comes within `wait` (or
    until `expect` replies came: a busy machine's commit may take seconds)."""
    for data in datagrams:
        raw.sock.sendto(data, ("127.0.0.1", raw.server.acct_port))
    replies, deadline = [], time.monotonic() + wait
    while time.monotonic() < deadline and not (expect and len(replies) >= expect):
        try:
            replies.append(raw.sock.recv(8192))
        except socket.timeout:
            if not expect:
                break
    return replies


def test_a_burst_of_accounting_is_stored_and_answered_one_row_each(radius, nas, raw, session):
    nas.account("bob")
    datagrams = [accounting(f"burst{n:02d}", "Start", 1000 * n) for n in range(40)]
    replies = burst(raw, datagrams, wait=10, expect=len(datagrams))
    assert sorted(reply[1] for reply in replies) == sorted(data[1] for data in datagrams)
    assert {reply[0] for reply in replies} == {rp.AccountingResponse}
    assert {(row.session_id, row.octets_in) for row in sessions(session)} == {
        (f"burst{n:02d}", 1000 * n) for n in range(40)}


def _refuse_writes(table: str) -> dict[str, list[str]]:
    """The database refuses inserts into `table`, as a full disk would."""
    return {"sqlite": [f"CREATE TRIGGER refuse BEFORE INSERT ON {table} "
                       "BEGIN SELECT RAISE(ABORT, 'disk full'); END"],
            "postgresql": ["CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                           "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
                           f"CREATE TRIGGER refuse BEFORE INSERT ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION refuse()"]}


def _heal(table: str) -> dict[str, list[str]]:
    return {"sqlite": ["DROP TRIGGER refuse"],
            "postgresql": [f"DROP TRIGGER refuse ON {table}", "DROP FUNCTION refuse()"]}


def _ddl(runtime, statements: dict[str, list[str]]) -> None:
    with runtime.engine.begin() as connection:
        for statement in statements[runtime.engine.dialect.name]:
            connection.exec_driver_sql(statement)


def test_a_batch_whose_commit_fails_answers_none_and_its_retransmission_is_stored_once(
        radius, nas, raw, runtime, session):
    nas.account("bob")
    datagrams = [accounting("lost1", "Start"), accounting("lost2", "Start"),
                 accounting("lost1", "Stop", 7000)]
    _ddl(runtime, _refuse_writes("nas_session"))
    assert burst(raw, datagrams) == []  # not stored: not acknowledged, the NAS sends again
    assert sessions(session) == [] and radius.counters["accounted"] == 0
    _ddl(runtime, _heal("nas_session"))
    assert len(burst(raw, datagrams, wait=10, expect=3)) == 3
    assert len(burst(raw, datagrams, wait=10, expect=3)) == 3  # a third time: from the cache
    rows = {row.session_id: row for row in sessions(session)}
    assert rows["lost1"].stopped_at is not None and rows["lost1"].octets_in == 7000
    assert rows["lost2"].stopped_at is None and radius.counters["accounted"] == 3
    session.rollback()
    assert [c.target for c in session.scalars(select(NasCommand))] == ["lost1"]  # rad_acc_stop


def test_a_batch_whose_rad_acc_stop_fails_is_not_stored_at_all(radius, nas, raw, runtime,
                                                               session):
    """The sessions and their log rows are one write (on PostgreSQL one statement in
    autocommit): the log refused, the sessions are not half-written either."""
    nas.account("bob")
    datagrams = [accounting("half1", "Stop", 100), accounting("half2", "Stop", 500)]
    _ddl(runtime, _refuse_writes("nas_command"))
    try:  # (stops only: however the two are batched, each batch has a log row)
        assert burst(raw, datagrams) == []
        assert sessions(session) == [] and radius.counters["accounted"] == 0
    finally:
        _ddl(runtime, _heal("nas_command"))
    assert len(burst(raw, datagrams, wait=10, expect=2)) == 2
    assert {row.session_id: row.octets_in for row in sessions(session)} == {
        "half1": 100, "half2": 500}


def test_copies_in_one_burst_are_stored_once_and_answered_alike(radius, nas, raw, session):
    nas.account("bob")
    data = accounting("twice", "Interim-Update", 5000)
    replies = burst(raw, [data, data, data])
    assert replies and len(set(replies)) == 1  # a copy of one in progress gets no reply
    assert radius.counters["duplicate"] == 2 and radius.counters["accounted"] == 1
    (row,) = sessions(session)
    assert (row.session_id, row.octets_in) == ("twice", 5000)


@pytest.mark.parametrize("password", ["p", "x" * 16, "y" * 17, "пароль, что длиннее 32 октетов"])
def test_the_pap_password_is_found_as_pyrad_finds_it(password):
    from plugin_nas_oss.radius_server_logic import unhide
    pkt = rp.AuthPacket(secret=RADIUS_SECRET.encode(), dict=load(), User_Name="bob")
    pkt["User-Password"] = pkt.PwCrypt(password)
    hidden = pkt.get(2)[0]
    assert unhide(hidden, pkt.secret, pkt.authenticator) == pkt.PwDecrypt(hidden) == password
    with pytest.raises(rp.PacketError):
        unhide(hidden[:-1], pkt.secret, pkt.authenticator)
