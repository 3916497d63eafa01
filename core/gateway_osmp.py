"""The built-in payment-system protocol: the "check / pay" pair of Russian payment
terminals and banks (the OSMP / QIWI provider protocol), signed with HMAC-SHA256.

    GET /pay/<gateway>/?command=check&txn_id=1234567&account=C-00042&sum=10.45
    GET /pay/<gateway>/?command=pay&txn_id=1234567&txn_date=20261207120133&account=C-00042&sum=10.45

Each is answered in XML:

    <?xml version="1.0" encoding="UTF-8"?>
    <response>
    <osmp_txn_id>1234567</osmp_txn_id>
    <prv_txn>2016</prv_txn>        (pay, taken: our payment id)
    <sum>10.45</sum>               (pay, taken)
    <result>0</result>
    <comment>OK</comment>
    </response>

`account` is the contract number (лицевой счёт); `txn_date` is YYYYMMDDHHMMSS in the
operator's time zone; `sum` has at most two decimals. Result codes: 0 ok, 1 temporary
error (the system retries the same txn_id later), 4 wrong account format, 5 account not
found, 7 payment forbidden, 241 / 242 sum too small / too large, 300 any other error (a
bad parameter, a txn_id paid before with another sum or account, a refused signature).

The signature is an HMAC-SHA256, in lower-case hex, of every parameter except `sign`,
as `name=value` pairs sorted by name and joined by `&` (the values decoded, UTF-8), keyed
with the gateway's secret; it comes in the header `signature_header` (X-Signature) or the
parameter `sign`. A request refused for its signature or address is answered with HTTP 403
and result 300.
"""
from __future__ import annotations

import hmac
import re
from datetime import datetime
from decimal import Decimal
from hashlib import sha256
from typing import Any, Iterable
from xml.sax.saxutils import escape

from core.errors import ValidationError
from core.fields import Field
from core.gateways import (GatewayAnswer, GatewayCall, GatewayOutcome, GatewayRequest,
                           PaymentGateway, SignatureRefused)

CODES = {"ok": 0, "retry": 1, "bad_account": 4, "not_found": 5, "forbidden": 7,
         "too_small": 241, "too_large": 242, "error": 300, "refused": 300}
TXN_ID = r"[0-9]{1,20}"
SUM = r"[0-9]{1,10}(?:\.[0-9]{1,2})?"
TXN_DATE = "%Y%m%d%H%M%S"
SIGN = "sign"


def canonical(args: Iterable[tuple[str, str]]) -> str:
    """What is signed: the parameters but `sign`, `name=value` sorted, joined by `&`."""
    return "&".join(f"{key}={value}" for key, value in sorted(args) if key != SIGN)


def signature(secret: str, args: Iterable[tuple[str, str]]) -> str:
    return hmac.new(secret.encode(), canonical(args).encode(), sha256).hexdigest()


def _pattern(value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"is not a regular expression: {exc}") from None


class OsmpGateway(PaymentGateway):
    code = "osmp"
    title = "Check / pay (OSMP / QIWI provider protocol)"
    fields = (
        Field("signature_header", default="X-Signature", pattern=r"[A-Za-z0-9-]{1,60}",
              help="the HTTP header the signature comes in (or the parameter sign)"),
        Field("account_pattern", default=r"[0-9A-Za-z-]{1,50}", check=_pattern,
              help="the form of an account (contract) number; another is result 4"),
    )

    def verify(self, request: GatewayRequest, config: dict[str, Any]) -> None:
        given = request.header(config["signature_header"]) or request.get(SIGN)
        if not given:
            raise SignatureRefused(f"missing (header {config['signature_header']} or "
                                   f"parameter {SIGN})")
        if not hmac.compare_digest(given.strip().lower(),
                                   signature(config["secret"], request.args)):
            raise SignatureRefused("does not match the request")

    def parse(self, request: GatewayRequest, config: dict[str, Any]) -> GatewayCall:
        command = request.get("command")
        if command not in ("check", "pay"):
            raise ValidationError("command", f"must be check or pay, not {str(command)[:20]!r}")
        txn_id = _required(request, "txn_id")
        if not re.fullmatch(TXN_ID, txn_id):
            raise ValidationError("txn_id", "must be 1 to 20 digits")
        account = _required(request, "account")
        if not re.fullmatch(config["account_pattern"], account):
            raise ValidationError("account", f"{account[:50]!r} is not an account number")
        amount = _required(request, "sum")
        if not re.fullmatch(SUM, amount):
            raise ValidationError("sum", f"{amount[:20]!r} is not a sum (e.g. 10.45)")
        paid_at = None
        if command == "pay":
            text = _required(request, "txn_date")
            try:
                paid_at = datetime.strptime(text, TXN_DATE)
            except ValueError:
                raise ValidationError("txn_date", f"{text[:20]!r} is not YYYYMMDDHHMMSS"
                                      ) from None
        return GatewayCall(command, txn_id, account, Decimal(amount).quantize(Decimal("0.01")),
                           paid_at)

    def answer(self, request: GatewayRequest, call: GatewayCall | None,
               outcome: GatewayOutcome, config: dict[str, Any]) -> GatewayAnswer:
        txn_id = call.txn_id if call else _echo(request)
        lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<response>",
                 f"<osmp_txn_id>{escape(txn_id)}</osmp_txn_id>"]
        if outcome.payment_id is not None:
            lines += [f"<prv_txn>{outcome.payment_id}</prv_txn>",
                      f"<sum>{outcome.amount:.2f}</sum>"]
        lines += [f"<result>{CODES[outcome.result]}</result>",
                  f"<comment>{escape(outcome.comment[:200])}</comment>", "</response>"]
        return GatewayAnswer(403 if outcome.result == "refused" else 200,
                             "\n".join(lines) + "\n", "text/xml; charset=utf-8")


def _required(request: GatewayRequest, name: str) -> str:
    value = (request.get(name) or "").strip()
    if not value:
        raise ValidationError(name, "is required")
    return value


def _echo(request: GatewayRequest) -> str:
    """The request's txn_id when it is one (a refused request's answer still names it)."""
    try:
        value = request.get("txn_id") or ""
    except ValidationError:
        return ""
    return value if re.fullmatch(TXN_ID, value) else ""


PROTOCOL = OsmpGateway()
