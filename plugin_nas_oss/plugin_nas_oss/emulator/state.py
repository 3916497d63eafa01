"""What the emulated NAS holds: subscriber sessions and their policies, and how a CoA /
Disconnect-Request changes them (RFC 5176), judged as a strict NAS would.

A request names its session by Acct-Session-Id (which must then match), else by
Framed-IP-Address, else by User-Name; none of them is Missing-Attribute (402), no such
session is Session-Context-Not-Found (503). An attribute the NAS does not take in a CoA
is Unsupported-Attribute (401); a CoA with nothing to change is Invalid-Request (404).

Policies, per vendor: Mikrotik-Address-List and Mikrotik-Rate-Limit (MikroTik),
Filter-Id (accel-ppp), Cisco-AVPair "subscriber:command=…" with
"subscriber:service-name=…" (ISG: activate-service, deactivate-service, account-logon,
account-logoff, account-status-query), ERX-Service-Activate / -Deactivate (Juniper).
Each is idempotent, as on a real NAS: activating an active service changes nothing.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

from plugin_nas_oss.dictionary import error_cause_name

#: Attributes that name a session (and the ones any request may carry besides).
IDENTIFY = ("Acct-Session-Id", "Framed-IP-Address", "User-Name")
ALSO_ALLOWED = ("Message-Authenticator", "NAS-IP-Address", "NAS-Identifier",
                "Calling-Station-Id", "Event-Timestamp", "Proxy-State")
POLICY = ("Mikrotik-Address-List", "Mikrotik-Rate-Limit", "Filter-Id", "Cisco-AVPair",
          "ERX-Service-Activate", "ERX-Service-Deactivate")

MISSING_ATTRIBUTE, UNSUPPORTED_ATTRIBUTE, INVALID_REQUEST = 402, 401, 404
SESSION_NOT_FOUND = 503


class Nak(Exception):
    def __init__(self, cause: int, detail: str = ""):
        super().__init__(f"{error_cause_name(cause)}: {detail}")
        self.cause = cause


@dataclass
class Session:
    session_id: str
    username: str
    ip: str | None = None
    mac: str | None = None
    address_list: str | None = None
    rate: str | None = None
    filter_id: str | None = None
    services: set[str] = field(default_factory=set)
    authorized: bool = True

    def facts(self) -> list[tuple[str, str]]:
        """What account-status-query answers (and the control API shows)."""
        facts = [("User-Name", self.username), ("Acct-Session-Id", self.session_id)]
        if self.ip:
            facts.append(("Framed-IP-Address", self.ip))
        facts += [("Cisco-AVPair", f"subscriber:service-name={name}")
                  for name in sorted(self.services)]
        return facts


@dataclass
class Applied:
    """One request the NAS acted on, in order (what tests compare)."""

    kind: str  # "coa" or "disconnect"
    session_id: str
    username: str
    attributes: list[tuple[str, str]]


class NasState:
    """Sessions, policies and the log of applied requests; thread-safe."""

    def __init__(self):
        self.lock = threading.RLock()
        self.sessions: dict[str, Session] = {}
        self.applied: list[Applied] = []
        self._ids = itertools.count(1)

    def reset(self) -> None:
        with self.lock:
            self.sessions.clear()
            self.applied.clear()

    def open_session(self, username: str, ip: str | None = None, mac: str | None = None,
                     session_id: str | None = None) -> Session:
        with self.lock:
            sid = session_id or f"{next(self._ids):08X}"
            session = Session(sid, username, ip, mac)
            self.sessions[sid] = session
            return session

    def session_of(self, username: str) -> Session | None:
        with self.lock:
            return next((s for s in self.sessions.values() if s.username == username), None)

    def commands_for(self, username: str) -> list[Applied]:
        with self.lock:
            return [a for a in self.applied if a.username == username]

    # --- requests -------------------------------------------------------------------------

    def _find(self, attributes: list[tuple[str, str]]) -> list[Session]:
        values = {}
        for name, value in attributes:
            values.setdefault(name, value)
        if "Acct-Session-Id" in values:
            found = self.sessions.get(values["Acct-Session-Id"])
            return [found] if found is not None else []
        if "Framed-IP-Address" in values:
            return [s for s in self.sessions.values() if s.ip == values["Framed-IP-Address"]]
        if "User-Name" in values:
            return [s for s in self.sessions.values() if s.username == values["User-Name"]]
        raise Nak(MISSING_ATTRIBUTE, "no Acct-Session-Id, Framed-IP-Address or User-Name")

    def disconnect(self, attributes: list[tuple[str, str]]) -> list[tuple[str, str]]:
        with self.lock:
            self._check_names(attributes, policy=False)
            found = self._find(attributes)
            if not found:
                raise Nak(SESSION_NOT_FOUND, "no such session")
            for session in found:
                del self.sessions[session.session_id]
                self.applied.append(Applied("disconnect", session.session_id, session.username,
                                            attributes))
            return []

    def coa(self, attributes: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Apply a CoA-Request; returns the attributes of the ACK."""
        with self.lock:
            self._check_names(attributes, policy=True)
            policy = [(n, v) for n, v in attributes if n in POLICY]
            if not policy:
                raise Nak(INVALID_REQUEST, "nothing to change")
            found = self._find(attributes)
            if not found:
                raise Nak(SESSION_NOT_FOUND, "no such session")
            reply: list[tuple[str, str]] = []
            for session in found:
                reply += self._apply(session, policy)
                self.applied.append(Applied("coa", session.session_id, session.username,
                                            attributes))
            return reply

    @staticmethod
    def _check_names(attributes, policy: bool) -> None:
        allowed = set(IDENTIFY) | set(ALSO_ALLOWED) | (set(POLICY) if policy else set())
        for name, _ in attributes:
            if name not in allowed:
                raise Nak(UNSUPPORTED_ATTRIBUTE, f"{name} is not taken here")

    def _apply(self, session: Session, policy: list[tuple[str, str]]) -> list[tuple[str, str]]:
        avpairs = dict(value.split("=", 1) for name, value in policy
                       if name == "Cisco-AVPair" and "=" in value)
        command = avpairs.get("subscriber:command")
        service = avpairs.get("subscriber:service-name")
        if command in ("activate-service", "deactivate-service") and not service:
            raise Nak(MISSING_ATTRIBUTE, f"{command} without subscriber:service-name")
        if command == "activate-service":
            session.services.add(service)
        elif command == "deactivate-service":
            session.services.discard(service)
        elif command == "account-logon":
            session.authorized = True
        elif command == "account-logoff":
            del self.sessions[session.session_id]
        elif command == "account-status-query":
            return session.facts()
        elif command is not None:
            raise Nak(INVALID_REQUEST, f"unknown subscriber:command={command}")
        for name, value in policy:
            if name == "Mikrotik-Address-List":
                session.address_list = value
            elif name == "Mikrotik-Rate-Limit":
                session.rate = value
            elif name == "Filter-Id":
                session.filter_id = value
            elif name == "ERX-Service-Activate":
                session.services.add(value)
            elif name == "ERX-Service-Deactivate":
                session.services.discard(value)
        return []
