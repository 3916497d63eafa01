"""What the billing's RADIUS server answers (the wire is plugin_nas_oss.radius_server).

Clients are the NAS agents: a request from a NAS's `address` is checked with its
`radius_secret`; the accounts it may authorise are the accounts of that agent.

Access-Request:
- the account is found by User-Name = login (PPPoE, HotSpot) and its password checked
  (PAP User-Password, or CHAP) against the account's "RADIUS password"; an IPoE request
  (no password) is found by Framed-IP-Address or Calling-Station-Id (the MAC, any
  spelling) among the NAS's accounts whose auth type is ipoe;
- the reply is the vendor profile's attributes for the account's state, the command
  that state stands for in Carbon's table: active → user_accept (full service),
  balance → user_drop (the negative-balance redirect), voluntary → b_sys,
  admin → b_admin. A blocked state whose command the profile does not send as CoA
  attributes is refused (Access-Reject), and a "disabled" account always is. The
  account's IP goes back as Framed-IP-Address.
  The reply's attribute octets are encoded once per account and directory read (they
  depend on the account, its state and the NAS's profile, all fixed until the next read)
  and signed per request by plugin_nas_oss.radius_codec.

Accounting-Request: a row of `nas_session` per (NAS, Acct-Session-Id) for start /
interim / stop (plugin_nas_oss.sessions). Accounting-Stop is Carbon's rad_acc_stop: the
core's events are the core's own, so the plugin does the command's effect here — the
session is marked stopped and the command is written to the command log with the stop's
facts (once per session, not again for a repeated Stop).
"""
from __future__ import annotations

import functools
import hashlib
import logging
import socket
import threading

from pyrad import packet as rp
from sqlalchemy.orm import Session

from core import now
from plugin_nas_oss import command_log, radius_codec as codec
from plugin_nas_oss.agent import NasSettings, normal_mac
from plugin_nas_oss.dictionary import load
from plugin_nas_oss.radius_server import Request
from plugin_nas_oss.radius_server_directory import Directory, Entry
from plugin_nas_oss.sessions import STATUS_TYPES, Accounting, one_statement, record_all

log = logging.getLogger("abonent.nas_oss.radius")

#: The command whose attributes an Access-Accept carries in each state (None: refused).
STATE_COMMAND = {"active": "user_accept", "balance": "user_drop", "voluntary": "b_sys",
                 "admin": "b_admin", "disabled": None}
PLUGIN_ACTOR = "plugin:nas_oss"


class BillingLogic:
    """Answers Access-Requests from the directory (memory, refreshed every `refresh`
    seconds) and writes each batch of Accounting-Requests in one transaction."""

    def __init__(self, runtime, refresh: float = 1.0):
        self.runtime = runtime
        self.directory = Directory(runtime, refresh=refresh, actor=PLUGIN_ACTOR)
        self._encoded = Encoded()
        self._connection = None  # the accounting writer's, see _record
        self._writing = threading.Lock()

    def secret(self, address: str) -> bytes | None:
        with self.directory.lock:
            nas = self.directory.fresh().nases.get(address)
        return nas.radius_secret.encode() if nas else None

    def answer(self, requests: list[Request]) -> list[bytes | None]:
        """Called from two threads (Access-Requests, the accounting writer): the
        directory is read under its lock, the database written outside it."""
        with self.directory.lock:
            directory = self.directory.fresh()
            self._encoded.follow(directory.version)
            replies, accounting = self._decide(directory, requests)
        if accounting and not self._record(accounting):
            for index, _, _ in accounting:  # not recorded: not acknowledged (RFC 2866)
                replies[index] = None
        return replies

    def _decide(self, directory: Directory, requests: list[Request]):
        """The replies, and the accounting to record before they may go."""
        replies: list[bytes | None] = []
        accounting: list[tuple[int, NasSettings, Accounting]] = []
        for request in requests:
            nas = directory.nases.get(request.client)
            if nas is None:
                replies.append(None)
            elif request.packet.code == codec.ACCESS_REQUEST:
                replies.append(authorize(directory, nas, request.packet, self._encoded))
            else:
                acct = accounting_of(directory, nas, request.packet)
                if acct is not None:
                    accounting.append((len(replies), nas, acct))
                replies.append(codec.reply(request.packet, codec.ACCOUNTING_RESPONSE, b"",
                                           nas.radius_secret.encode()))
        return replies, accounting

    def _record(self, accounting: list[tuple[int, NasSettings, Accounting]]) -> bool:
        """One transaction on the writer's own connection, kept between batches: a pool
        checkout pings the server first, a round trip per batch for nothing. Where the
        batch is one statement (sessions.one_statement), the connection is in autocommit:
        the statement is its own transaction, committed before its result comes back,
        with no BEGIN and COMMIT round trips around it. A failed batch closes the
        connection (the next batch connects afresh)."""
        nases = {nas.agent_id: nas for _, nas, _ in accounting}
        with self._writing:
            try:
                if self._connection is None:
                    self._connection = self.runtime.engine.connect()
                    if one_statement(self._connection.dialect.name):
                        self._connection = self._connection.execution_options(
                            isolation_level="AUTOCOMMIT")
                with Session(bind=self._connection, info={
                        "runtime": self.runtime, "actor": PLUGIN_ACTOR}) as session:
                    record_all(session, [acct for _, _, acct in accounting],
                               log=lambda acct: rad_acc_stop(nases[acct.agent_id], acct))
                    session.commit()
            except Exception:
                log.exception("accounting of %d packets not recorded", len(accounting))
                self.close()
                return False
        return True

    def close(self) -> None:
        """Give the writer's connection back (the server calls it when it stops)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                connection.close()
            except Exception:  # a broken connection: nothing left to give back
                log.debug("closing the accounting connection failed", exc_info=True)


def _first(packet: codec.Packet, name: str):
    """The first value of attribute `name` as pyrad decodes it: an enumerated value by
    its name (Acct-Status-Type "Start"), an integer, an IPv4 address, text; None when it
    is absent or of a length its type does not have (the rest of the packet is used)."""
    code, kind, names = _attribute(name)
    values = packet.attributes.get(code)
    if not values:
        return None
    value = values[0]
    if value in names:
        return names[value]
    if kind == "integer" or kind == "ipaddr":
        if len(value) != 4:
            return None
        return int.from_bytes(value, "big") if kind == "integer" else socket.inet_ntoa(value)
    return value.decode("utf-8", errors="replace")  # the string attributes read here


@functools.cache  # (not lru_cache(maxsize): its bookkeeping was a third of _first)
def _attribute(name: str) -> tuple[int, str, dict[bytes, str]]:
    """The code, type and enumerated values (octets → name) of attribute `name`."""
    attribute = load().attributes[name]
    return attribute.code, attribute.type, dict(attribute.values.backward)


def _mac(value) -> str | None:
    try:
        return normal_mac(str(value)) if value else None
    except ValueError:
        return None


def _by_ipoe(directory: Directory, nas: NasSettings, ip: str | None, mac: str | None):
    """The NAS's IPoE account with this IP, else with this MAC."""
    for found in (directory.by_field(nas.agent_id, "ip", ip),
                  directory.by_field(nas.agent_id, "mac", mac)):
        if found is not None and found.fields.get("auth_type") == "ipoe":
            return found
    return None


def _password_ok(request: codec.Packet, secret: bytes, password: str | None) -> bool:
    if not password:
        return False
    hidden = request.first(codec.USER_PASSWORD)  # hidden with the secret (RFC 2865 5.2)
    if hidden is not None:
        try:
            return unhide(hidden, secret, request.authenticator) == password
        except rp.PacketError:
            return False
    return codec.chap_ok(request, password)


def unhide(hidden: bytes | str, secret: bytes, authenticator: bytes) -> str:
    """A PAP User-Password in clear (RFC 2865 section 5.2), as pyrad's PwDecrypt finds it
    but 16 octets at a time (pyrad goes octet by octet: ~15 µs of an Access-Request)."""
    hidden = hidden.encode() if isinstance(hidden, str) else bytes(hidden)
    if len(hidden) % 16:
        raise rp.PacketError(f"Invalid length of encrypted password ({len(hidden)})")
    plain, last = b"", authenticator
    for at in range(0, len(hidden), 16):
        block = hidden[at:at + 16]
        pad = hashlib.md5(secret + last).digest()
        plain += (int.from_bytes(block, "big") ^ int.from_bytes(pad, "big")).to_bytes(16, "big")
        last = block
    return plain.rstrip(b"\0").decode("utf-8", errors="ignore")


class Encoded(dict):
    """Reply attribute octets by (NAS, account, session id when the profile uses it),
    valid for one read of the directory: `follow` empties it when the directory has been
    read again (an account, its state or its NAS's profile may have changed)."""

    version = -1

    def follow(self, version: int) -> None:
        if version != self.version:
            self.clear()
            self.version = version


def authorize(directory: Directory, nas: NasSettings, request: codec.Packet,
              encoded: Encoded) -> bytes:
    """Access-Accept with the profile's attributes, or Access-Reject, signed."""
    secret = nas.radius_secret.encode()
    found = _account(directory, nas, request, secret)
    state = action = key = None
    if found is not None:
        state = directory.state(found.id)
        command = STATE_COMMAND.get(state)
        action = nas.profile.action(command) if command else None
        uses_session = action is not None and any(
            "{session_id" in template for _, template in action.attributes)
        key = (nas.agent_id, found.id,
               request.text(codec.ACCT_SESSION_ID) if uses_session else None)
    hit = encoded.get(key)
    if hit is None:
        hit = encoded[key] = _reply_attributes(nas, found, state, action, request)
    return codec.reply(request, hit[0], hit[1], secret)


def _account(directory: Directory, nas: NasSettings, request: codec.Packet,
             secret: bytes) -> Entry | None:
    """The account a login with its right password names, or the IPoE account of the
    request's IP / MAC; None for nobody."""
    login = request.text(codec.USER_NAME)
    if codec.USER_PASSWORD in request.attributes or codec.CHAP_PASSWORD in request.attributes:
        found = directory.by_login(nas.agent_id, login) if login else None
        if found is None or not _password_ok(request, secret, found.fields.get("radius_password")):
            return None
        return found
    ip = request.first(codec.FRAMED_IP_ADDRESS)
    return _by_ipoe(directory, nas, socket.inet_ntoa(ip) if ip and len(ip) == 4 else None,
                    _mac(request.text(codec.CALLING_STATION_ID)) or _mac(login))


def _reply_attributes(nas: NasSettings, found: Entry | None, state: str | None, action,
                      request: codec.Packet) -> tuple[int, bytes]:
    """(code, attribute octets) of the reply to a request for `found` in `state`, whose
    command is `action` on this NAS (None: always refused)."""
    if found is None:
        return _reject("unknown login or wrong password")
    attributes = (action.render(_values(found, request, nas))
                  if action and action.transport == "coa" else [])
    if action is None or (state != "active" and not attributes):
        return _reject(f"account is blocked ({state})")
    if found.fields.get("ip"):
        attributes.insert(0, ("Framed-IP-Address", found.fields["ip"]))
    return codec.ACCESS_ACCEPT, codec.encode_attributes(load(), attributes)


def _reject(why: str) -> tuple[int, bytes]:
    return codec.ACCESS_REJECT, codec.encode_attributes(load(), [("Reply-Message", why)])


def _values(found: Entry, request: codec.Packet, nas: NasSettings) -> dict:
    fields = found.fields
    return {"login": found.login, "ip": fields.get("ip"), "mac": fields.get("mac"),
            "vlan": fields.get("vlan"), "port": fields.get("port"),
            "session_id": request.text(codec.ACCT_SESSION_ID), "nas_ip": nas.address}


def _counter(pkt: codec.Packet, octets: str, gigawords: str) -> int:
    return int(_first(pkt, gigawords) or 0) * 2 ** 32 + int(_first(pkt, octets) or 0)


def accounting_of(directory: Directory, nas: NasSettings, pkt: codec.Packet
                  ) -> Accounting | None:
    """What to record of an Accounting-Request (None for Accounting-On/Off and other
    status types, and for a packet without Acct-Session-Id: acknowledged, not recorded)."""
    status, session_id = _first(pkt, "Acct-Status-Type"), _first(pkt, "Acct-Session-Id")
    if status not in STATUS_TYPES or not session_id:
        return None
    login = _first(pkt, "User-Name") or ""
    ip, mac = _first(pkt, "Framed-IP-Address"), _mac(_first(pkt, "Calling-Station-Id"))
    found = (directory.by_login(nas.agent_id, login) if login else None) or _by_ipoe(
        directory, nas, ip, mac)
    cause = _first(pkt, "Acct-Terminate-Cause")
    return Accounting(agent_id=nas.agent_id, status=status, session_id=str(session_id)[:64],
                      username=login[:100], account_id=found.id if found else None,
                      framed_ip=ip, mac=mac,
                      octets_in=_counter(pkt, "Acct-Input-Octets", "Acct-Input-Gigawords"),
                      octets_out=_counter(pkt, "Acct-Output-Octets", "Acct-Output-Gigawords"),
                      terminate_cause=str(cause)[:40] if cause is not None else None)


def rad_acc_stop(nas: NasSettings, acct: Accounting) -> dict:
    """Carbon's rad_acc_stop, done here: the session is stopped (record_all did it) and
    this command log row says so with the stop's facts. A profile may name an action for
    it; it is logged, not sent: nothing is left on the NAS to change once the session
    has ended."""
    return {"at": now(), "agent_id": nas.agent_id, "account_id": acct.account_id,
            "command": "rad_acc_stop", "transport": nas.profile.action("rad_acc_stop").transport,
            "target": acct.session_id,
            "request": [["Acct-Session-Id", acct.session_id], ["User-Name", acct.username]],
            "outcome": command_log.SKIPPED, "delivery_key": None, "step": None,
            "answer": f"Accounting-Stop ({acct.terminate_cause or 'no cause'}): "
                      f"{acct.octets_in} octets in, {acct.octets_out} out"}
