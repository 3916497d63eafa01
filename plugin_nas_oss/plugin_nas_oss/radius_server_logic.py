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

Accounting-Request: a row of `nas_session` per (NAS, Acct-Session-Id) for start /
interim / stop (plugin_nas_oss.sessions). Accounting-Stop is Carbon's rad_acc_stop: the
core's events are the core's own, so the plugin does the command's effect here — the
session is marked stopped and the command is written to the command log with the stop's
facts (once per session, not again for a repeated Stop).
"""
from __future__ import annotations

import logging

from pyrad import packet as rp
from sqlalchemy import select

from core import Account, Agent, account_state
from plugin_nas_oss.agent import CODE, NasSettings, normal_mac
from plugin_nas_oss.radius_server import Request
from plugin_nas_oss.sessions import STATUS_TYPES, STOP, Accounting, record

log = logging.getLogger("abonent.nas_oss.radius")

#: The command whose attributes an Access-Accept carries in each state (None: refused).
STATE_COMMAND = {"active": "user_accept", "balance": "user_drop", "voluntary": "b_sys",
                 "admin": "b_admin", "disabled": None}
PLUGIN_ACTOR = "plugin:nas_oss"


class BillingLogic:
    """Answers from the billing's database (one transaction per batch of requests)."""

    def __init__(self, runtime, on_stop=None):
        self.runtime = runtime
        self.on_stop = on_stop  # called (session, nas, session row) after a first Stop
        self._nas: dict[str, NasSettings] = {}

    def secrets(self) -> dict[str, bytes]:
        found: dict[str, NasSettings] = {}
        with self.runtime.session(actor=PLUGIN_ACTOR) as session:
            agents = session.scalars(select(Agent).where(Agent.type == CODE, Agent.enabled))
            for agent in agents:
                try:
                    nas = NasSettings.of(agent.id, agent.settings)
                except Exception as exc:  # one NAS set up wrong must not silence the others
                    log.warning("NAS agent %s ignored: %s", agent.id, exc)
                    continue
                found[nas.address] = nas
        self._nas = found
        return {address: nas.radius_secret.encode() for address, nas in found.items()}

    def answer(self, requests: list[Request]) -> list[rp.Packet | None]:
        try:
            with self.runtime.session(actor=PLUGIN_ACTOR) as session:
                return [self._answer(session, request) for request in requests]
        except Exception:
            if len(requests) == 1:
                log.exception("RADIUS request from %s not answered", requests[0].client)
                return [None]
        # one bad request must not cost the batch: each again in its own transaction
        return [self.answer([request])[0] for request in requests]

    def _answer(self, session, request: Request) -> rp.Packet | None:
        nas = self._nas.get(request.client)
        if nas is None:
            return None
        if request.packet.code == rp.AccessRequest:
            return authorize(session, nas, request.packet)
        return account(session, nas, request.packet, self.on_stop)


def _first(pkt: rp.Packet, name: str):
    values = pkt.get(name) if name in pkt else None
    return values[0] if values else None


def _mac(value) -> str | None:
    try:
        return normal_mac(str(value)) if value else None
    except ValueError:
        return None


def _by_login(session, nas: NasSettings, login: str):
    return session.scalar(select(Account).where(
        Account.agent_id == nas.agent_id, Account.login == login, Account.trashed_at.is_(None)))


def _by_ipoe(session, nas: NasSettings, ip: str | None, mac: str | None):
    """The NAS's IPoE account with this IP, else with this MAC."""
    for field, value in (("ip", ip), ("mac", mac)):
        if not value:
            continue
        found = session.scalar(select(Account).where(
            Account.agent_id == nas.agent_id, Account.trashed_at.is_(None),
            Account.fields[field].as_string() == value).limit(1))
        if found is not None and (found.fields or {}).get("auth_type") == "ipoe":
            return found
    return None


def _password_ok(pkt: rp.AuthPacket, password: str | None) -> bool:
    if not password:
        return False
    if 2 in pkt:  # User-Password, hidden with the secret (RFC 2865 section 5.2)
        try:
            return pkt.PwDecrypt(pkt.get(2)[0]) == password
        except rp.PacketError:
            return False
    return pkt.VerifyChapPasswd(password)


def authorize(session, nas: NasSettings, pkt: rp.AuthPacket) -> rp.Packet:
    """Access-Accept with the profile's attributes, or Access-Reject."""
    login = _first(pkt, "User-Name")
    with_password = 2 in pkt or 3 in pkt
    found = _by_login(session, nas, login) if login else None
    if found is not None and with_password:
        if not _password_ok(pkt, (found.fields or {}).get("radius_password")):
            found = None
    elif not with_password:
        found = _by_ipoe(session, nas, _first(pkt, "Framed-IP-Address"),
                         _mac(_first(pkt, "Calling-Station-Id")) or _mac(login))
    else:
        found = None
    if found is None:
        return _reject(pkt, "unknown login or wrong password")
    state = account_state(session, found.id)
    command = STATE_COMMAND.get(state)
    action = nas.profile.action(command) if command else None
    attributes = action.render(_values(found, pkt, nas)) if action and action.transport == "coa" else []
    if command is None or (state != "active" and not attributes):
        return _reject(pkt, f"account is blocked ({state})")
    reply = pkt.CreateReply()
    ip = (found.fields or {}).get("ip")
    if ip:
        reply.AddAttribute("Framed-IP-Address", ip)
    for name, value in attributes:
        reply.AddAttribute(name, value)
    return reply


def _reject(pkt: rp.AuthPacket, why: str) -> rp.Packet:
    reply = pkt.CreateReply()
    reply.code = rp.AccessReject
    reply.AddAttribute("Reply-Message", why)
    return reply


def _values(found: Account, pkt: rp.Packet, nas: NasSettings) -> dict:
    fields = found.fields or {}
    return {"login": found.login, "ip": fields.get("ip"), "mac": fields.get("mac"),
            "vlan": fields.get("vlan"), "port": fields.get("port"),
            "session_id": _first(pkt, "Acct-Session-Id"), "nas_ip": nas.address}


def _counter(pkt: rp.Packet, octets: str, gigawords: str) -> int:
    return int(_first(pkt, gigawords) or 0) * 2 ** 32 + int(_first(pkt, octets) or 0)


def _status(pkt: rp.Packet) -> str | None:
    value = _first(pkt, "Acct-Status-Type")
    return value if value in STATUS_TYPES else None


def account(session, nas: NasSettings, pkt: rp.AcctPacket, on_stop=None) -> rp.Packet:
    """Accounting-Response once the packet is recorded (Accounting-On/Off and other
    status types are acknowledged and not recorded)."""
    status, session_id = _status(pkt), _first(pkt, "Acct-Session-Id")
    if status and session_id:
        login = _first(pkt, "User-Name") or ""
        ip, mac = _first(pkt, "Framed-IP-Address"), _mac(_first(pkt, "Calling-Station-Id"))
        found = (_by_login(session, nas, login) if login else None) or _by_ipoe(session, nas, ip, mac)
        cause = _first(pkt, "Acct-Terminate-Cause")
        acct = Accounting(agent_id=nas.agent_id, status=status, session_id=str(session_id)[:64],
                          username=login[:100], account_id=found.id if found else None,
                          framed_ip=ip, mac=mac,
                          octets_in=_counter(pkt, "Acct-Input-Octets", "Acct-Input-Gigawords"),
                          octets_out=_counter(pkt, "Acct-Output-Octets", "Acct-Output-Gigawords"),
                          terminate_cause=str(cause)[:40] if cause is not None else None)
        row, stopped_now = record(session, acct)
        if stopped_now and status == STOP and on_stop is not None:
            on_stop(session, nas, row)
    return pkt.CreateReply()
