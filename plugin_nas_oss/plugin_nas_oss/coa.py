"""RFC 5176 dynamic authorisation: CoA-Request and Disconnect-Request to a NAS, with pyrad.

Every request carries a Message-Authenticator (after BlastRADIUS a NAS may drop requests
without one) and the reply's authenticators are checked by pyrad. The NAS's answer is one
of three things, which the caller maps to an outbox outcome once:

- an ACK (CoA-ACK 44, Disconnect-ACK 41) → `Answer(ok=True)`;
- a NAK (45, 42) → `Answer(ok=False)` with its Error-Cause's name (RFC 5176 §3.5);
- silence after `retries` resends of `timeout` seconds each, or a network error →
  `NasSilent` (Carbon's handler exit code 254: "NAS unreachable, deliver later").

Clients are kept per thread and per NAS (the outbox delivers from several threads), so a
burst of commands reuses one socket instead of opening one per packet.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from pyrad import packet
from pyrad.client import Client, Timeout

from plugin_nas_oss import dictionary

COA, DISCONNECT = "coa", "disconnect"
_ACKS = {packet.CoAACK, packet.DisconnectACK}
_NAKS = {packet.CoANAK, packet.DisconnectNAK}


class NasSilent(Exception):
    """The NAS did not answer (or could not be reached): try again later."""


@dataclass(frozen=True)
class Answer:
    ok: bool
    code: int
    error_cause: str | None = None
    attributes: list[tuple[str, str]] = field(default_factory=list)

    def text(self) -> str:
        """The answer as the command log shows it."""
        name = {packet.CoAACK: "CoA-ACK", packet.CoANAK: "CoA-NAK",
                packet.DisconnectACK: "Disconnect-ACK",
                packet.DisconnectNAK: "Disconnect-NAK"}.get(self.code, f"code {self.code}")
        parts = [name] + ([f"Error-Cause={self.error_cause}"] if self.error_cause else [])
        parts += [f"{key}={value}" for key, value in self.attributes if key != "Error-Cause"]
        return " ".join(parts)


_local = threading.local()


def _client(address: str, port: int, secret: str, timeout: float, retries: int) -> Client:
    cache = getattr(_local, "clients", None)
    if cache is None:
        cache = _local.clients = {}
    key = (address, port, secret)
    client = cache.get(key)
    if client is None:
        client = Client(server=address, secret=secret.encode(), dict=dictionary.load(),
                        coaport=port)
        cache[key] = client
    client.timeout, client.retries = timeout, retries + 1
    return client


def send(kind: str, address: str, port: int, secret: str, attributes: list[tuple[str, str]],
         *, timeout: float = 3.0, retries: int = 2) -> Answer:
    """Send one CoA-Request (`kind` "coa") or Disconnect-Request ("disconnect") and wait
    for its answer; raises NasSilent when there is none."""
    client = _client(address, port, secret, timeout, retries)
    code = packet.CoARequest if kind == COA else packet.DisconnectRequest
    request = client.CreateCoAPacket(code=code)
    request.add_message_authenticator()
    for name, value in attributes:
        request.AddAttribute(name, value)
    try:
        reply = client.SendPacket(request)
    except Timeout:
        raise NasSilent(f"no answer from {address}:{port} after {retries + 1} "
                        f"request(s) of {timeout:g} s") from None
    except OSError as exc:
        raise NasSilent(f"{address}:{port} unreachable: {exc}") from None
    return decode(reply)


def decode(reply) -> Answer:
    attributes = []
    for key in reply.keys():
        if key == "Message-Authenticator":
            continue
        for value in reply[key]:
            if isinstance(value, bytes):
                value = "0x" + value.hex()
            attributes.append((str(key), str(value)))
    if reply.code in _ACKS:
        return Answer(True, reply.code, None, attributes)
    if reply.code in _NAKS:
        causes = reply.get("Error-Cause") or []
        cause = dictionary.error_cause_name(causes[0]) if causes else None
        return Answer(False, reply.code, cause, attributes)
    raise RuntimeError(f"the NAS answered with code {reply.code}, neither ACK nor NAK")
