"""The RADIUS server's own codec (plugin_nas_oss.radius_codec) against pyrad, the
reference: it reads and checks the requests pyrad writes, and pyrad reads and verifies the
replies it writes, octet for octet what pyrad itself would have sent."""
from __future__ import annotations

import hashlib

import pytest
from pyrad import packet as rp

from plugin_nas_oss import radius_codec as codec
from plugin_nas_oss.dictionary import load

SECRETS = [b"radius-secret-2c9d", b"k" * 70]  # a key over 64 octets is hashed first (RFC 2104)
REPLY = [("Framed-IP-Address", "10.0.0.5"), ("Mikrotik-Address-List", "allowed"),
         ("Cisco-AVPair", "subscriber:command=activate-service"),
         ("Cisco-AVPair", "subscriber:service-name=NEGATIVE_BALANCE"),
         ("ERX-Service-Activate:1", "internet"), ("Reply-Message", "ok")]


def request(secret: bytes, **attributes) -> rp.AuthPacket:
    pkt = rp.AuthPacket(secret=secret, dict=load(), User_Name="bob", **attributes)
    pkt["User-Password"] = pkt.PwCrypt("pw")
    pkt["Proxy-State"] = [b"first hop", b"second"]  # a reply carries them back in order
    pkt[(9999, 7)] = [b"vendor-thing"]  # kept whole, not read
    pkt.add_message_authenticator()
    return pkt


@pytest.mark.parametrize("secret", SECRETS)
def test_a_request_pyrad_wrote_reads_alike_and_its_message_authenticator_checks(secret):
    pkt = request(secret, Acct_Session_Id="81a0001", Framed_IP_Address="10.0.0.9")
    data = pkt.RequestPacket()
    ours, theirs = codec.decode(data), rp.AuthPacket(packet=data, secret=secret, dict=load())
    assert (ours.code, ours.id, ours.authenticator) == (theirs.code, theirs.id,
                                                        theirs.authenticator)
    assert {code: values for code, values in ours.attributes.items() if code != 26} == {
        code: values for code, values in theirs.items() if not isinstance(code, tuple)}
    assert ours.text(codec.USER_NAME) == "bob" and ours.text(codec.ACCT_SESSION_ID) == "81a0001"
    assert codec.authenticator_problem(ours, secret) is None
    assert theirs.verify_message_authenticator()
    assert codec.authenticator_problem(ours, b"another secret") == "bad_authenticator"


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("code", [rp.AccessAccept, rp.AccessReject])
def test_a_reply_is_what_pyrad_would_send_and_pyrad_verifies_it(secret, code):
    pkt = request(secret)
    data = pkt.RequestPacket()
    reference = rp.AuthPacket(packet=data, secret=secret, dict=load()).CreateReply()
    reference.code = code
    for name, value in REPLY:
        reference.AddAttribute(name, value)
    ours = codec.reply(codec.decode(data), code, codec.encode_attributes(load(), REPLY), secret)
    assert ours == reference.ReplyPacket()
    decoded = rp.AuthPacket(packet=ours, secret=secret, dict=load())
    assert decoded.code == code and decoded["Cisco-AVPair"] == [
        value for name, value in REPLY if name == "Cisco-AVPair"]
    assert pkt.VerifyReply(decoded, ours, enforce_ma=True)  # Message-Authenticator included


@pytest.mark.parametrize("signed", [False, True])
def test_an_accounting_request_checks_as_pyrad_checks_it_and_its_response_is_pyrads(signed):
    secret = SECRETS[0]
    pkt = rp.AcctPacket(secret=secret, dict=load(), User_Name="bob", Acct_Session_Id="s1",
                        Acct_Status_Type="Stop", Acct_Input_Octets=7000)
    pkt["Proxy-State"] = [b"hop"]
    if signed:
        pkt.add_message_authenticator()
    data = pkt.RequestPacket()
    theirs = rp.AcctPacket(packet=data, secret=secret, dict=load())
    ours = codec.decode(data)
    assert theirs.VerifyAcctRequest() and (not signed or theirs.verify_message_authenticator())
    assert codec.authenticator_problem(ours, secret) is None
    assert codec.authenticator_problem(ours, b"another secret") == "bad_authenticator"
    if signed:  # a Message-Authenticator spoilt under a good Request Authenticator
        at = ours.message_authenticator_at
        spoilt = bytearray(data[:at] + bytes(16) + data[at + 16:])
        spoilt[4:20] = hashlib.md5(bytes(spoilt[:4]) + bytes(16) + bytes(spoilt[20:])
                                   + secret).digest()
        assert codec.authenticator_problem(codec.decode(bytes(spoilt)), secret) == (
            "bad_authenticator")
    response = codec.reply(ours, rp.AccountingResponse, b"", secret)
    assert response == theirs.CreateReply().ReplyPacket()
    assert pkt.VerifyReply(rp.AcctPacket(packet=response, secret=secret, dict=load()), response)


@pytest.mark.parametrize("challenge", [None, b"0123456789abcdef"])
def test_chap_is_checked_as_pyrad_checks_it(challenge):
    pkt = rp.AuthPacket(secret=SECRETS[0], dict=load(), User_Name="bob")
    pkt.authenticator = pkt.CreateAuthenticator()
    if challenge:
        pkt["CHAP-Challenge"] = challenge
    pkt["CHAP-Password"] = b"\x07" + hashlib.md5(
        b"\x07pw" + (challenge or pkt.authenticator)).digest()
    ours = codec.decode(pkt.RequestPacket())
    for password in ("pw", "nope"):
        assert codec.chap_ok(ours, password) == pkt.VerifyChapPasswd(password) == (
            password == "pw")


def test_a_missing_or_misshapen_message_authenticator_is_named():
    pkt = rp.AuthPacket(secret=SECRETS[0], dict=load(), User_Name="bob")
    data = pkt.RequestPacket()
    assert codec.authenticator_problem(codec.decode(data), SECRETS[0]) == (
        "missing_message_authenticator")
    short = data[:2] + (len(data) + 3).to_bytes(2, "big") + data[4:] + b"\x50\x03x"
    assert codec.authenticator_problem(codec.decode(short), SECRETS[0]) == (
        "bad_authenticator")


@pytest.mark.parametrize("data", [
    b"\x01\x02\x00\x14" + b"\x00" * 15,                          # shorter than a header
    b"\x01\x02\x00\x15" + b"\x00" * 16 + b"\x01",                # attribute header cut off
    b"\x01\x02\x00\x17" + b"\x00" * 16 + b"\x01\x01\x00",        # attribute Length 1
    b"\x01\x02\x00\x17" + b"\x00" * 16 + b"\x01\x09\x00",        # attribute past the packet
    b"\x01\x02\x00\x30" + b"\x00" * 16,                          # Length past the datagram
])
def test_what_cannot_be_read_is_malformed(data):
    with pytest.raises(codec.Malformed):
        codec.decode(data)
