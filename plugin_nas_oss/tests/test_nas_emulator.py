"""The emulated NAS judged by a real peer, FreeRADIUS's radclient (scripts/ensure-radclient.sh
installs it for `make test`), and by raw datagrams: it answers what a strict NAS answers,
drops what such a NAS drops (counting why), and keeps serving."""
from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from plugin_nas_oss import coa
from plugin_nas_oss.tests.conftest import COA_SECRET

MA = "Message-Authenticator = 0x00"  # radclient computes it when the attribute is listed


def radclient(emulator, kind: str, attributes: str, secret: str = COA_SECRET,
              tries: int = 3):
    """radclient's exit code and output: `tries` sends 1 s apart (a busy machine can take
    longer than half a second to answer; one try where silence is what is expected)."""
    assert shutil.which("radclient"), "radclient is missing: scripts/ensure-radclient.sh"
    done = subprocess.run(["radclient", "-x", "-r", str(tries), "-t", "1" if tries > 1 else "0.5",
                           f"127.0.0.1:{emulator.port}", kind, secret],
                          input=attributes, capture_output=True, text=True, timeout=10)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def bob(nas_emulator):
    return nas_emulator.state.open_session("bob", "10.0.0.15")


def test_coa_and_disconnect_from_radclient(nas_emulator, bob):
    code, out = radclient(nas_emulator, "coa",
                          f'User-Name = "bob", Mikrotik-Rate-Limit = "10M/10M", {MA}')
    assert code == 0 and "Received CoA-ACK" in out
    assert bob.rate == "10M/10M"
    code, out = radclient(nas_emulator, "coa",
                          f'User-Name = "bob", Cisco-AVPair = "subscriber:command=activate-service", '
                          f'Cisco-AVPair = "subscriber:service-name=IPTV", {MA}')
    assert code == 0 and bob.services == {"IPTV"}
    code, out = radclient(nas_emulator, "disconnect", f"Framed-IP-Address = 10.0.0.15, {MA}")
    assert code == 0 and "Received Disconnect-ACK" in out
    assert nas_emulator.state.sessions == {}
    code, out = radclient(nas_emulator, "disconnect", f"Framed-IP-Address = 10.0.0.15, {MA}")
    assert "Received Disconnect-NAK" in out and "Error-Cause = Session-Context-Not-Found" in out


@pytest.mark.parametrize("attributes, cause", [
    (f'User-Name = "bob", Reply-Message = "hi", {MA}', "Unsupported-Attribute"),
    (f'Mikrotik-Address-List = "x", {MA}', "Missing-Attribute"),
    (f'User-Name = "bob", {MA}', "Invalid-Request"),
    (f'User-Name = "alice", Filter-Id = "x", {MA}', "Session-Context-Not-Found"),
    (f'User-Name = "bob", Cisco-AVPair = "subscriber:command=activate-service", {MA}',
     "Missing-Attribute"),
])
def test_refusals_name_their_error_cause(nas_emulator, bob, attributes, cause):
    code, out = radclient(nas_emulator, "coa", attributes)
    assert code != 0 and "Received CoA-NAK" in out and f"Error-Cause = {cause}" in out
    assert (bob.address_list, bob.filter_id, bob.services) == (None, None, set())


def test_dropped_without_answer(nas_emulator, bob):
    """No Message-Authenticator, a wrong secret: dropped silently, as after BlastRADIUS."""
    code, out = radclient(nas_emulator, "coa", 'User-Name = "bob", Filter-Id = "x"', tries=1)
    assert code != 0 and "No reply" in out
    code, out = radclient(nas_emulator, "coa", f'User-Name = "bob", Filter-Id = "x", {MA}',
                          secret="wrong", tries=1)
    assert code != 0 and "No reply" in out
    assert nas_emulator.dropped == {"no Message-Authenticator": 1, "bad authenticator": 1}
    assert bob.filter_id is None


def test_garbage_and_oversized_datagrams_leave_it_serving(nas_emulator, bob):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        for datagram in (b"", b"\x2b", b"\x2b\x01\x00\x14" + b"\x00" * 16 + b"\xff" * 3,
                         b"\x2b\x01\xff\xff" + b"\x00" * 5000, b"\x01" * 20):
            raw.sendto(datagram, ("127.0.0.1", nas_emulator.port))
    answer = coa.send("coa", "127.0.0.1", nas_emulator.port, COA_SECRET,
                      [("User-Name", "bob"), ("Filter-Id", "ok")], timeout=1, retries=0)
    assert answer.ok and bob.filter_id == "ok"
    assert sum(nas_emulator.dropped.values()) == 5


def test_a_repeated_request_is_answered_not_applied_again(nas_emulator, bob):
    """The first answer lost, the client sends the same packet again (same identifier and
    authenticator): the cached answer comes back and the session changed once."""
    nas_emulator.lose_replies = 1
    answer = coa.send("coa", "127.0.0.1", nas_emulator.port, COA_SECRET,
                      [("User-Name", "bob"), ("Cisco-AVPair", "subscriber:command=activate-service"),
                       ("Cisco-AVPair", "subscriber:service-name=IPTV")], timeout=0.3, retries=1)
    assert answer.ok
    assert [r.answer for r in nas_emulator.received] == ["ack,lost", "repeat"]
    assert len(nas_emulator.state.applied) == 1


def test_client_maps_silence_and_naks(nas_emulator, bob):
    nas_emulator.silent = True
    with pytest.raises(coa.NasSilent):
        coa.send("coa", "127.0.0.1", nas_emulator.port, COA_SECRET,
                 [("User-Name", "bob"), ("Filter-Id", "x")], timeout=0.2, retries=1)
    assert [r.answer for r in nas_emulator.received] == ["silent", "silent"]
    nas_emulator.silent = False
    nas_emulator.nak_next = [506]
    answer = coa.send("coa", "127.0.0.1", nas_emulator.port, COA_SECRET,
                      [("User-Name", "bob"), ("Filter-Id", "x")], timeout=0.5, retries=0)
    assert (answer.ok, answer.error_cause) == (False, "Resources-Unavailable")
    assert answer.text() == "CoA-NAK Error-Cause=Resources-Unavailable"
