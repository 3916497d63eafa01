"""The billing's RADIUS server on the wire: two UDP sockets (authentication and
accounting), our own loop around them; requests are decoded and replies signed by
plugin_nas_oss.radius_codec (checked against pyrad by the tests).

Why not pyrad's `server.Server.Run`: it answers one packet at a time and hides why a
packet was dropped in a log line. This loop counts every drop by reason
(`RadiusServer.counters`), answers a repeated request from a cache instead of doing its
work twice, and hands the requests that arrived together to the logic as one batch, so
a burst of accounting is written in one transaction (one commit for many packets; the
Accounting-Response of each goes out only after that commit, as RFC 2866 wants).

What is dropped, never answered, and counted (the server keeps serving):
- ``oversized``: a datagram over 4096 octets (RFC 2865 section 3);
- ``malformed``: shorter than a header, a Length field out of range, attributes that do
  not decode, a code that does not belong on that port;
- ``unknown_client``: a source address that is no NAS agent of the billing;
- ``missing_message_authenticator`` / ``bad_authenticator``: an Access-Request without
  a valid Message-Authenticator (required, the BlastRADIUS countermeasure) or an
  Accounting-Request whose Request Authenticator does not match the secret;
- ``errors``: the logic failed on it (logged with its traceback).
``duplicate`` counts a request seen again (same source, code, identifier and Request
Authenticator within `dedup_seconds`): it gets the reply cached for the first.
"""
from __future__ import annotations

import logging
import queue
import select
import socket
import struct
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Protocol

from plugin_nas_oss import radius_codec as codec

log = logging.getLogger("abonent.nas_oss.radius")

MAX_PACKET = 4096  # RFC 2865 section 3
HEADER = 20


@dataclass
class Request:
    """A request that passed the checks, for the logic to answer."""

    packet: codec.Packet
    client: str  # the NAS's address


class Logic(Protocol):
    def secret(self, address: str) -> bytes | None:
        """The RADIUS secret of the NAS at `address`, None for no NAS."""

    def answer(self, requests: list[Request]) -> list[bytes | None]:
        """The encoded reply to each request, in order (None drops it), done in one go."""

    def close(self) -> None:
        """The server has stopped: give back what answering held (connections)."""


class RadiusServer:
    """Serve RADIUS authentication and accounting until `stop()`.

    `start()` binds both sockets (port 0 picks a free one: read `auth_port` and
    `acct_port` after) and serves from a thread; `serve()` serves in the caller's."""

    def __init__(self, logic: Logic, host: str = "127.0.0.1", auth_port: int = 1812,
                 acct_port: int = 1813, dedup_seconds: float = 5.0, batch: int = 64):
        self.logic = logic
        self.dedup_seconds, self.batch = dedup_seconds, batch
        self.counters: Counter = Counter()
        self._replies: OrderedDict = OrderedDict()  # key -> (time, raw reply)
        self._in_progress: set = set()  # keys read and not answered yet
        self._lock = threading.Lock()  # the two above and the counters: two threads use them
        self._queue: queue.SimpleQueue = queue.SimpleQueue()  # accounting for the writer
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.auth = self._bind(host, auth_port)
        self.acct = self._bind(host, acct_port)
        self.auth_port, self.acct_port = self.auth.getsockname()[1], self.acct.getsockname()[1]

    @staticmethod
    def _bind(host: str, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind((host, port))
        sock.setblocking(False)
        return sock

    # --- running ------------------------------------------------------------------------

    def start(self) -> "RadiusServer":
        self._thread = threading.Thread(target=self.serve, name="radius", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.auth.close()
        self.acct.close()

    def __enter__(self) -> "RadiusServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def serve(self) -> None:
        writer = threading.Thread(target=self._write, name="radius-accounting", daemon=True)
        writer.start()
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([self.auth, self.acct], [], [], 0.2)
                for sock in ready:
                    try:
                        self._round(sock)
                    except Exception:  # never let one round stop the server
                        self._count("errors")
                        log.exception("RADIUS round failed")
        finally:
            self._queue.put(None)
            writer.join(10)
            self.logic.close()

    # --- one round: what is waiting on a socket -----------------------------------------

    def _round(self, sock: socket.socket) -> None:
        """Take what is waiting (up to `batch` datagrams). Access-Requests are answered
        here and now (from memory); Accounting-Requests go to the writer thread, so the
        next ones are read and decoded while the database commits the last ones."""
        pending: list[tuple[tuple, Request, tuple]] = []
        for _ in range(self.batch):
            try:
                data, source = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # e.g. an ICMP error reported for an earlier reply
                continue
            self._count("received")
            taken = self._take(sock, data, source)
            if taken is not None:
                pending.append(taken)
        if not pending:
            return
        if sock is self.acct:
            self._queue.put(pending)
        else:
            self._answer(sock, pending)

    def _write(self) -> None:
        """The writer thread: what queued up meanwhile is answered together (one
        transaction), until serve() ends and queues None."""
        while (pending := self._queue.get()) is not None:
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                pending += more
            try:
                self._answer(self.acct, pending)
            except Exception:  # never let one batch stop the writer
                self._count("errors")
                log.exception("RADIUS accounting batch failed")

    def _answer(self, sock: socket.socket, pending: list[tuple[tuple, Request, tuple]]) -> None:
        """Answer requests (each key once: _take keeps a copy of one in progress out),
        cache and send the replies; a request the logic drops (None: e.g. a failed commit)
        is forgotten, so its retransmission is handled anew."""
        try:
            replies = self.logic.answer([request for _, request, _ in pending])
        finally:
            with self._lock:
                self._in_progress.difference_update(key for key, _, _ in pending)
        now = time.monotonic()
        for (key, _, source), raw in zip(pending, replies):
            if raw is None:
                continue
            with self._lock:
                self._replies[key] = (now, raw)
                self.counters[_REPLY_NAMES.get(raw[0], "replied")] += 1
            sock.sendto(raw, source)

    def _count(self, name: str) -> None:
        with self._lock:
            self.counters[name] += 1

    def _take(self, sock: socket.socket, data: bytes, source: tuple):
        """(dedup key, request, source) for a datagram worth answering, else None
        (dropped and counted, or answered from the cache)."""
        if len(data) > MAX_PACKET:
            return self._drop("oversized", source)
        if len(data) < HEADER:
            return self._drop("malformed", source)
        length = struct.unpack_from("!H", data, 2)[0]
        if length < HEADER or length > len(data):
            return self._drop("malformed", source)
        data = data[:length]  # octets past Length are padding (RFC 2865 section 3)
        secret = self.logic.secret(_plain(source[0]))
        if secret is None:
            return self._drop("unknown_client", source)
        key = (source, data[0], data[1], data[4:20])
        with self._lock:
            cached = self._cached(key)
            in_progress = key in self._in_progress
        if cached is not None or in_progress:  # a copy: the cached reply, or none yet
            self._count("duplicate")
            if cached is not None:
                sock.sendto(cached, source)
            return None
        try:
            pkt = codec.decode(data)
        except codec.Malformed:
            return self._drop("malformed", source)
        code = codec.ACCESS_REQUEST if sock is self.auth else codec.ACCOUNTING_REQUEST
        problem = "malformed" if pkt.code != code else codec.authenticator_problem(pkt, secret)
        if problem:
            return self._drop(problem, source)
        with self._lock:
            self._in_progress.add(key)
        return key, Request(pkt, _plain(source[0])), source

    def _drop(self, reason: str, source: tuple) -> None:
        self._count(reason)
        log.debug("dropped a packet from %s: %s", source[0], reason)
        return None

    def _cached(self, key: tuple) -> bytes | None:
        horizon = time.monotonic() - self.dedup_seconds
        while self._replies:
            oldest = next(iter(self._replies.values()))
            if oldest[0] >= horizon:
                break
            self._replies.popitem(last=False)
        hit = self._replies.get(key)
        return hit[1] if hit else None


_REPLY_NAMES = {codec.ACCESS_ACCEPT: "accepted", codec.ACCESS_REJECT: "rejected",
                codec.ACCOUNTING_RESPONSE: "accounted"}


def _plain(address: str) -> str:
    """An IPv4 client of a dual-stack socket arrives as ::ffff:a.b.c.d."""
    return address[7:] if address.startswith("::ffff:") else address
