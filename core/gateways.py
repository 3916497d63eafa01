"""Payment systems: a gateway's callback becomes a payment, idempotent by its transaction id.

A *protocol* (`PaymentGateway`) says how one kind of payment system talks: how its
requests are signed, how they are read and how they are answered. The core ships one
(core.gateway_osmp: the check / pay pair of Russian payment terminals and banks); a
plugin adds others through the `abonent_payment_gateways` hook. The operator configures
each payment system they take money from as `[payment_gateways.<name>]`: its protocol,
its secret, the addresses it calls from, the limits of one payment, and the protocol's own
keys (`COMMON_FIELDS` + the protocol's `fields`), all checked at start-up.

`handle()` is the life of one call, the same for every protocol, so a plugin's protocol
only reads and writes its wire format:

1. the caller's address against `allowed_ips`, then the signature: a refusal is logged
   and written to the audit log (in a transaction of its own) and nothing else is done;
2. the request is read into a `GatewayCall`; a bad one is answered with the error that
   names the parameter;
3. "check" answers whether a payment to that account would be taken; "pay" records it
   through core.services.payments with source `gw:<name>` and the gateway's transaction
   id as external id, so a pay sent twice (its answer was lost) is one payment, and the
   second answer is the first (the same payment id and sum).
"""
from __future__ import annotations

import ipaddress
import logging
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from core.audit import audit
from core.config import GATEWAYS
from core.errors import ConfigError, Duplicate, PluginError, ValidationError
from core.fields import Field, field_problems, mask_secrets
from core.models import Account, Contract, Payment
from core.money import money
from core.runtime import Runtime
from core.services.payments import record_payment

log = logging.getLogger("abonent.gateways")

#: a gateway's name: part of its URL (/pay/<name>/) and of its payments' source (gw:<name>)
NAME = r"[a-z0-9_-]{1,40}"
#: what became of a call; a protocol turns each into its own result code
RESULTS = ("ok", "retry", "bad_account", "not_found", "forbidden", "too_small", "too_large",
           "error", "refused")
COMMANDS = ("check", "pay")


def _networks(values: list) -> None:
    for value in values:
        try:
            ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise ValueError(f"{str(value)[:60]!r} is not an address or network "
                             f"(e.g. 192.0.2.10 or 192.0.2.0/24)") from None


#: the keys every `[payment_gateways.<name>]` section has, whatever its protocol
COMMON_FIELDS = (
    Field("protocol", required=True, help="how the payment system talks (e.g. osmp)"),
    Field("secret", required=True, secret=True,
          help="the key the payment system signs its requests with"),
    Field("allowed_ips", "list", default=[], check=_networks,
          help="addresses or networks (CIDR) the payment system calls from; empty: any"),
    Field("min_sum", "decimal", default="1.00", min=Decimal("0.01"),
          help="a smaller payment is refused (too small)"),
    Field("max_sum", "decimal", default="15000.00", min=Decimal("0.01"),
          help="a larger payment is refused (too large)"),
    Field("rate_limit", "int", default=20, min=1, max=10000,
          help="requests a second taken from one address; more are answered 429"),
    Field("enabled", "bool", default=True, help="off: every payment is refused (forbidden)"),
)


class SignatureRefused(Exception):
    """The request's signature is missing or wrong; `reason` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class GatewayRequest:
    """One HTTP request of a payment system, as the web process received it (the core
    reads no Flask): its parameters in order (query and form), its headers, the caller."""

    method: str
    args: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    remote_addr: str | None

    def get(self, name: str) -> str | None:
        """The parameter's value; a parameter sent twice is refused naming it."""
        values = [value for key, value in self.args if key == name]
        if len(values) > 1:
            raise ValidationError(name, "is given more than once")
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted),
                    None)


@dataclass(frozen=True)
class GatewayCall:
    """What the payment system asks: "check" whether `account` takes `amount`, or "pay".
    `paid_at` is the payment's time as the system states it, in the operator's local time
    when naive."""

    command: str
    txn_id: str
    account: str
    amount: Decimal
    paid_at: datetime | None = None


@dataclass(frozen=True)
class GatewayOutcome:
    """The answer to a call before a protocol writes it: one of RESULTS, a comment for
    the system's operators, and for a payment taken its id and sum."""

    result: str
    comment: str
    payment_id: int | None = None
    amount: Decimal | None = None


@dataclass(frozen=True)
class GatewayAnswer:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


class PaymentGateway(ABC):
    """A payment system's protocol, provided by the core or a plugin
    (`abonent_payment_gateways`). Stateless: what differs between two gateways of one
    protocol is their configuration (`config`, validated against COMMON_FIELDS and
    `fields`)."""

    #: the value of `protocol` in a gateway's section
    code: str = ""
    title: str = ""
    #: the protocol's own configuration keys
    fields: tuple[Field, ...] = ()

    @abstractmethod
    def verify(self, request: GatewayRequest, config: dict[str, Any]) -> None:
        """Raise SignatureRefused unless the request is signed with `config["secret"]`."""

    @abstractmethod
    def parse(self, request: GatewayRequest, config: dict[str, Any]) -> GatewayCall:
        """Read the call; raise ValidationError naming the bad parameter ("account" for an
        account number of the wrong form)."""

    @abstractmethod
    def answer(self, request: GatewayRequest, call: GatewayCall | None,
               outcome: GatewayOutcome, config: dict[str, Any]) -> GatewayAnswer:
        """Write the outcome in the protocol's format (`call` is None when the request was
        refused or could not be read)."""


@dataclass(frozen=True)
class Gateway:
    """One configured payment system: its name, protocol and validated configuration."""

    name: str
    protocol: PaymentGateway
    config: dict[str, Any]

    @property
    def source(self) -> str:
        """The source of its payments (their external ids are its transaction ids)."""
        return f"gw:{self.name}"

    def shown(self) -> dict[str, Any]:
        """Its configuration fit to show (the secret and the protocol's secrets masked)."""
        return mask_secrets((*COMMON_FIELDS, *self.protocol.fields), self.config)

    def allows(self, address: str | None) -> bool:
        allowed = self.config["allowed_ips"]
        if not allowed:
            return True
        try:
            caller = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(caller in ipaddress.ip_network(str(net), strict=False) for net in allowed)


def protocols(runtime: Runtime) -> dict[str, PaymentGateway]:
    """Every protocol the core and the plugins provide, by code."""
    found: dict[str, tuple[str, PaymentGateway]] = {}
    for impl in runtime.pm.hook.abonent_payment_gateways.get_hookimpls():
        for protocol in impl.function() or []:
            if not isinstance(protocol, PaymentGateway) or not protocol.code:
                raise PluginError(f"plugin {impl.plugin_name!r}: abonent_payment_gateways must "
                                  f"return PaymentGateway objects with a code")
            if protocol.code in found:
                raise PluginError(f"payment gateway protocol {protocol.code!r} is provided by "
                                  f"both {found[protocol.code][0]!r} and {impl.plugin_name!r}")
            found[protocol.code] = (impl.plugin_name, protocol)
    return {code: protocol for code, (_, protocol) in found.items()}


def configured(runtime: Runtime) -> dict[str, Gateway]:
    """The gateways of `[payment_gateways.*]`, every bad key of every one reported at once
    (ConfigError naming `payment_gateways.<name>.<key>`)."""
    known = protocols(runtime)
    gateways: dict[str, Gateway] = {}
    problems: list[ValidationError] = []
    for name, section in runtime.settings.gateway_sections.items():
        prefix = f"{GATEWAYS}.{name}."
        if not re.fullmatch(NAME, name):
            problems.append(ValidationError(f"{GATEWAYS}.{name}", f"a gateway's name is "
                                            f"lower-case letters, digits, _ and - ({NAME})"))
            continue
        code = section.get("protocol")
        protocol = known.get(str(code))
        if protocol is None:
            problems.append(ValidationError(f"{prefix}protocol", f"{code!r} is not a protocol; "
                                            f"known: {', '.join(sorted(known)) or 'none'}"))
            continue
        values, found = field_problems((*COMMON_FIELDS, *protocol.fields), section,
                                       prefix=prefix)
        if not found:
            found = _limits(values, prefix)
        problems += found
        if not found:
            gateways[name] = Gateway(name, protocol, values)
    if problems:
        raise ConfigError.of(problems)
    return gateways


def _limits(values: dict[str, Any], prefix: str) -> list[ValidationError]:
    """min_sum and max_sum as money (cents), the one not above the other."""
    try:
        values.update({key: money(values[key], f"{prefix}{key}")
                       for key in ("min_sum", "max_sum")})
    except ValidationError as exc:
        return [exc]
    if values["min_sum"] > values["max_sum"]:
        return [ValidationError(f"{prefix}min_sum", "must not be above max_sum")]
    return []


def handle(runtime: Runtime, gateway: Gateway, request: GatewayRequest) -> GatewayAnswer:
    """Answer one call of a payment system (see the module's docstring)."""
    protocol, config = gateway.protocol, gateway.config
    if not gateway.allows(request.remote_addr):
        return _refuse(runtime, gateway, request, f"address {request.remote_addr} is not in "
                                                  f"allowed_ips")
    try:
        protocol.verify(request, config)
    except (SignatureRefused, ValidationError) as exc:  # or its signature given twice
        return _refuse(runtime, gateway, request, f"signature: {exc.reason}")
    try:
        call = protocol.parse(request, config)
    except ValidationError as exc:
        result = "bad_account" if exc.field == "account" else "error"
        return protocol.answer(request, None, GatewayOutcome(result, str(exc)), config)
    try:
        with runtime.session(actor=f"gateway:{gateway.name}") as session:
            outcome = (_pay if call.command == "pay" else _check)(session, gateway, call)
    except OperationalError as exc:  # the database is down or busy: the system retries
        log.warning("gateway %s: %s %s not answered: %s", gateway.name, call.command,
                    call.txn_id, str(exc).splitlines()[0])
        outcome = GatewayOutcome("retry", "temporary error, retry later")
    return protocol.answer(request, call, outcome, config)


def _refuse(runtime: Runtime, gateway: Gateway, request: GatewayRequest,
            reason: str) -> GatewayAnswer:
    log.warning("gateway %s: refused a request from %s: %s", gateway.name,
                request.remote_addr, reason)
    with runtime.session(actor=f"gateway:{gateway.name}") as session:
        audit(session, "gateway.refused", "payment_gateway", gateway.name,
              {"reason": reason, "address": request.remote_addr,
               "args": [[key, value[:100]] for key, value in request.args[:20]]})
    return gateway.protocol.answer(request, None, GatewayOutcome("refused", reason),
                                   gateway.config)


def _acceptance(session, gateway: Gateway, call: GatewayCall
                ) -> tuple[Contract | None, GatewayOutcome]:
    """Whether a payment of the call would be taken: the contract, and an "ok" outcome
    or the refusal."""
    contract = session.scalars(select(Contract).where(Contract.number == call.account)).first()
    if contract is None:
        return None, GatewayOutcome("not_found", f"no account {call.account}")
    low, high = gateway.config["min_sum"], gateway.config["max_sum"]
    if call.amount < low:
        return contract, GatewayOutcome("too_small", f"the least payment is {low:.2f}")
    if call.amount > high:
        return contract, GatewayOutcome("too_large", f"the largest payment is {high:.2f}")
    if not gateway.config["enabled"]:
        return contract, GatewayOutcome("forbidden", "this payment system is switched off")
    in_use = session.scalars(select(Account.trashed_at.is_(None)).where(
        Account.contract_id == contract.id)).all()
    if in_use and not any(in_use):
        return contract, GatewayOutcome("forbidden", "the contract is closed (no account in use)")
    return contract, GatewayOutcome("ok", "OK")


def _check(session, gateway: Gateway, call: GatewayCall) -> GatewayOutcome:
    return _acceptance(session, gateway, call)[1]


def _pay(session, gateway: Gateway, call: GatewayCall) -> GatewayOutcome:
    earlier = session.scalars(select(Payment).where(
        Payment.source == gateway.source, Payment.external_id == call.txn_id)).first()
    if earlier is None:
        contract, outcome = _acceptance(session, gateway, call)
        if outcome.result != "ok":
            return outcome
        received = _received_at(call.paid_at, contract)
    else:  # a replay: answered as the first time, whatever the limits are now
        contract, received = session.get(Contract, earlier.contract_id), earlier.received_at
        if contract.number != call.account:
            return GatewayOutcome("error", f"txn_id {call.txn_id} was paid to another account")
    try:
        result = record_payment(session, contract.id, call.amount, source=gateway.source,
                                external_id=call.txn_id, received_at=received)
    except Duplicate:
        return GatewayOutcome("error", f"txn_id {call.txn_id} was paid with another sum")
    except ValidationError as exc:
        return GatewayOutcome("error", str(exc))
    return GatewayOutcome("ok", "OK", result.payment.id, result.payment.amount)


def _received_at(paid_at: datetime | None, contract: Contract) -> datetime | None:
    if paid_at is None or paid_at.tzinfo is not None:
        return paid_at
    return paid_at.replace(tzinfo=ZoneInfo(contract.operator.timezone))
