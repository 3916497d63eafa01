"""An emulated network of payment terminals speaking the check / pay protocol
(core.gateway_osmp) to `/pay/<gateway>/`: what the tests and the demo pay through.

It behaves as a real terminal network does: every request signed with the gateway's
secret (HMAC-SHA256, header X-Signature); a payment is a "check" and, if the account
takes it, a "pay" with a transaction id of its own; a pay whose answer is lost (no
connection, a timeout, an HTTP error, a body that is no answer) or answered "temporary
error" (result 1) is sent again with the same txn_id until a final answer comes, as the
protocol asks. It is strict about the answers: XML with a <response> root, its
<osmp_txn_id> the one sent, a known result code, and for a pay taken a <prv_txn> and the
<sum> sent; anything else is a `ProtocolError` (a billing that answers wrongly is a bug
the emulator shows, not one it forgives).
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode
from xml.etree import ElementTree

import requests

from core.gateway_osmp import CODES, TXN_DATE, signature

KNOWN = frozenset(CODES.values())
TEMPORARY = 1


class ProtocolError(Exception):
    """The billing answered something the protocol does not allow."""


class Unanswered(Exception):
    """No final answer came after every re-send."""


@dataclass(frozen=True)
class Reply:
    status: int
    txn_id: str
    result: int
    comment: str
    prv_txn: int | None = None
    sum: Decimal | None = None


class TerminalNetwork:
    """Terminals paying into one gateway (`url` is its /pay/<name>/ address)."""

    _ids = itertools.count(int(time.time() * 1000) % 10**12 * 1000)

    def __init__(self, url: str, secret: str, *, timeout: float = 5.0, attempts: int = 5,
                 pause: float = 0.0):
        self.url, self.secret = url, secret
        self.timeout, self.attempts, self.pause = timeout, attempts, pause
        self.http = requests.Session()
        self.http.trust_env = False
        #: every request sent, as (command, txn_id), re-sends included
        self.sent: list[tuple[str, str]] = []

    def new_txn_id(self) -> str:
        return str(next(self._ids))

    def send(self, params: dict[str, str], *, sign: bool = True) -> Reply:
        """One request, signed, and its answer checked; raises requests' errors when
        the answer is lost."""
        args = sorted(params.items())
        headers = {"X-Signature": signature(self.secret, args)} if sign else {}
        self.sent.append((params.get("command", ""), params.get("txn_id", "")))
        answer = self.http.get(f"{self.url}?{urlencode(args)}", headers=headers,
                               timeout=self.timeout)
        if answer.status_code not in (200, 403):
            raise requests.HTTPError(f"HTTP {answer.status_code}", response=answer)
        return _reply(answer.status_code, answer.content, params)

    def check(self, account: str, amount: Decimal | str, txn_id: str | None = None) -> Reply:
        return self.send({"command": "check", "txn_id": txn_id or self.new_txn_id(),
                          "account": account, "sum": f"{Decimal(amount):.2f}"})

    def pay(self, account: str, amount: Decimal | str, txn_id: str,
            at: datetime | None = None) -> Reply:
        """A pay, sent again while its answer is lost or temporary (`attempts` times)."""
        params = {"command": "pay", "txn_id": txn_id, "account": account,
                  "sum": f"{Decimal(amount):.2f}",
                  "txn_date": (at or datetime.now()).strftime(TXN_DATE)}
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.pause)
            try:
                reply = self.send(params)
            except (requests.ConnectionError, requests.Timeout, requests.HTTPError,
                    ProtocolError):
                continue
            if reply.result != TEMPORARY:
                return reply
        raise Unanswered(f"pay {txn_id}: no final answer after {self.attempts} attempts")

    def payment(self, account: str, amount: Decimal | str) -> Reply:
        """What a terminal does for a customer: check, then pay (the same txn_id) if the
        check is ok."""
        txn_id = self.new_txn_id()
        checked = self.check(account, amount, txn_id)
        if checked.result != 0:
            return checked
        return self.pay(account, amount, txn_id)


def _reply(status: int, body: bytes, params: dict[str, str]) -> Reply:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise ProtocolError(f"the answer is not XML: {exc}") from None
    if root.tag != "response":
        raise ProtocolError(f"the answer's root is <{root.tag}>, not <response>")
    values = {child.tag: (child.text or "") for child in root}
    unknown = set(values) - {"osmp_txn_id", "prv_txn", "sum", "result", "comment"}
    if unknown:
        raise ProtocolError(f"the answer has elements the protocol has not: {sorted(unknown)}")
    if values.get("osmp_txn_id") != params.get("txn_id") and status == 200:
        raise ProtocolError(f"osmp_txn_id {values.get('osmp_txn_id')!r} is not the txn_id "
                            f"sent ({params.get('txn_id')})")
    try:
        result = int(values["result"])
    except (KeyError, ValueError):
        raise ProtocolError("the answer has no numeric <result>") from None
    if result not in KNOWN:
        raise ProtocolError(f"result {result} is not a code of the protocol")
    if status == 403 and result == 0:
        raise ProtocolError("a refused request (HTTP 403) answered result 0")
    prv_txn = amount = None
    if params.get("command") == "pay" and result == 0:
        if not values.get("prv_txn", "").isdigit() or values.get("sum") != params["sum"]:
            raise ProtocolError("a pay taken must answer its <prv_txn> and the <sum> sent")
        prv_txn, amount = int(values["prv_txn"]), Decimal(values["sum"])
    return Reply(status, values.get("osmp_txn_id", ""), result, values.get("comment", ""),
                 prv_txn, amount)
