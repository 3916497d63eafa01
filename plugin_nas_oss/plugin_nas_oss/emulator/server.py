"""The emulated NAS's dynamic-authorisation port: CoA-Request and Disconnect-Request on UDP,
answered with ACK / NAK as RFC 5176 says, and the faults tests and the demo stage.

What it refuses, as a NAS after BlastRADIUS does (silently: nothing is answered, the
packet is counted in `dropped` with its reason): a sender that is not the billing
(`clients`), a packet that does not parse, a wrong Request Authenticator (wrong secret),
a missing or wrong Message-Authenticator, another code than CoA / Disconnect-Request.

A request repeated with the same identifier and authenticator (the sender did not hear
the answer) is answered again from the cache and not applied twice (RFC 5080 §2.2.2).

Faults (the control API is the `NasEmulator` object):
- `silent = True`: nothing is answered (the request is not applied);
- `lose_replies = n`: the next n requests are applied but their answers are dropped
  (repeats answered from the cache count too);
- `nak_next = [cause, …]`: the next requests are refused with these Error-Causes.
"""
from __future__ import annotations

import logging
import socket
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass

from pyrad import packet

from plugin_nas_oss import dictionary
from plugin_nas_oss.emulator.state import NasState, Nak

log = logging.getLogger("abonent.nas_oss.emulator")

_CACHE = 256


@dataclass
class Received:
    """One request the emulator heard and decoded, with what it did."""

    kind: str
    attributes: list[tuple[str, str]]
    answer: str  # "ack", "nak:<cause>", "silent", "lost", "repeat"


class NasEmulator:
    """A NAS on `host:port` (port 0: any free one) sharing `secret` with the billing."""

    def __init__(self, secret: str, host: str = "127.0.0.1", port: int = 0,
                 clients: tuple[str, ...] = ("127.0.0.1",)):
        self.secret = secret.encode()
        self.clients = set(clients)
        self.state = NasState()
        self.received: list[Received] = []
        self.dropped: Counter = Counter()
        self.silent = False
        self.lose_replies = 0
        self.nak_next: list[int] = []
        self._replies: OrderedDict = OrderedDict()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, port))
        self._socket.settimeout(0.1)
        self.host, self.port = self._socket.getsockname()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- control ------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget sessions, requests and faults (between tests)."""
        self.state.reset()
        self.received.clear()
        self.dropped.clear()
        self._replies.clear()
        self.silent, self.lose_replies, self.nak_next = False, 0, []

    def start(self) -> "NasEmulator":
        self._thread = threading.Thread(target=self._serve, name=f"nas-emulator:{self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._socket.close()

    def __enter__(self) -> "NasEmulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- the port -----------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, source = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                reply = self.handle(data, source[0])
            except Exception:  # the emulator must keep serving whatever it was sent
                log.exception("request from %s not handled", source)
                self.dropped["error"] += 1
                continue
            if reply is not None:
                self._socket.sendto(reply, source)

    def handle(self, data: bytes, source: str) -> bytes | None:
        """The answer to one datagram, or None to stay silent."""
        if source not in self.clients:
            self.dropped["unknown client"] += 1
            return None
        key = (source, data[1:2], data[4:20])
        if key in self._replies:
            self.received.append(Received("repeat", [], "repeat"))
            return self._deliver(self._replies[key])
        request = self._decode(data)
        if request is None or self.silent:
            if request is not None:
                self.received.append(Received(_kind(request), _attributes(request), "silent"))
            return None
        kind, attributes = _kind(request), _attributes(request)
        reply = request.CreateReply()
        reply.add_message_authenticator()
        try:
            if self.nak_next:
                raise Nak(self.nak_next.pop(0), "refused on demand")
            handler = self.state.disconnect if kind == "disconnect" else self.state.coa
            for name, value in handler(attributes):
                reply.AddAttribute(name, value)
            answer = "ack"
        except Nak as exc:
            reply.code = packet.DisconnectNAK if kind == "disconnect" else packet.CoANAK
            reply.AddAttribute("Error-Cause", exc.cause)
            answer = f"nak:{dictionary.error_cause_name(exc.cause)}"
        raw = reply.ReplyPacket()
        self._replies[key] = raw
        while len(self._replies) > _CACHE:
            self._replies.popitem(last=False)
        self.received.append(Received(kind, attributes, answer))
        return self._deliver(raw)

    def _deliver(self, raw: bytes) -> bytes | None:
        if self.lose_replies > 0:
            self.lose_replies -= 1
            self.received[-1].answer += ",lost"
            return None
        return raw

    def _decode(self, data: bytes):
        try:
            request = packet.CoAPacket(secret=self.secret, dict=dictionary.load(), packet=data)
        except Exception:
            self.dropped["malformed"] += 1
            return None
        if request.code not in (packet.CoARequest, packet.DisconnectRequest):
            self.dropped["not a CoA or Disconnect-Request"] += 1
            return None
        if not request.VerifyCoARequest():
            self.dropped["bad authenticator"] += 1
            return None
        if not request.message_authenticator:
            self.dropped["no Message-Authenticator"] += 1
            return None
        if not request.verify_message_authenticator():
            self.dropped["bad Message-Authenticator"] += 1
            return None
        return request


def _kind(request) -> str:
    return "disconnect" if request.code == packet.DisconnectRequest else "coa"


def _attributes(request) -> list[tuple[str, str]]:
    """The request's attributes by name, in order; unknown ones by number."""
    pairs = []
    for key in request.keys():
        if key == "Message-Authenticator":
            continue
        for value in request[key]:
            if isinstance(value, tuple):  # a tagged value: (tag, value)
                value = value[1]
            pairs.append((str(key), value if isinstance(value, str) else str(value)))
    return pairs
