"""The emulated SMS's method registry and its dispatcher.

A method module declares each XML-RPC method with :func:`method`, naming the types of its
arguments after the auth struct:

    @method("accountLock", ID)
    def account_lock(sms, account_id): ...

The dispatcher refuses, with an XML-RPC fault as the real SMS does, a call without a valid
auth struct first, with too few or too many arguments, or with an argument of the wrong
type; then it calls the function with the :class:`~plugin_jambox.emulator.state.Sms` state
(under its lock) and the arguments, converted. A rule the SMS enforces is raised as
:func:`refuse` (a fault with SGT's Polish message).

Argument types are converters: :data:`ID` takes an int or a string of digits (SGT's PHP
clients send ids read from a database as strings), :data:`TEXT` a string, :data:`STRUCT`
a struct, :data:`ARRAY` an array, :data:`BOOL` a boolean, and :func:`nil_or` wraps one to
accept nil as well. Trailing arguments may be optional (``optional=N``).
"""
from __future__ import annotations

import re
import xmlrpc.client
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Iterable

#: fault codes of the emulated SMS
AUTH_FAILED = 1
BAD_ARGUMENTS = 2
NOT_FOUND = 3
REFUSED = 4
NO_METHOD = 5


class Refusal(xmlrpc.client.Fault):
    """A fault the SMS answers (auth, arguments, unknown id, a business rule)."""


def refuse(message: str, code: int = REFUSED) -> Refusal:
    return Refusal(code, message)


def not_found(what: str, value: Any) -> Refusal:
    return Refusal(NOT_FOUND, f"{what} {value} nie istnieje")


class Kind:
    """An argument type: a name for messages and a converter raising ValueError."""

    def __init__(self, name: str, convert: Callable[[Any], Any]):
        self.name = name
        self.convert = convert


def _id(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError


def _of(kind: type) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise ValueError
        return value
    return convert


ID = Kind("int", _id)
TEXT = Kind("string", _of(str))
STRUCT = Kind("struct", _of(dict))
ARRAY = Kind("array", _of(list))
BOOL = Kind("boolean", _of(bool))


def nil_or(kind: Kind) -> Kind:
    return Kind(f"{kind.name} or nil",
                lambda value: None if value is None else kind.convert(value))


def id_or_empty(value: Any) -> int | None:
    """An id, or "" for "all" (custList(""), meldingerList(""))."""
    return None if value == "" else _id(value)


ID_OR_ALL = Kind("int or empty string", id_or_empty)


@dataclass(frozen=True)
class Method:
    name: str
    kinds: tuple[Kind, ...]
    optional: int
    func: Callable[..., Any]


REGISTRY: dict[str, Method] = {}


def method(name: str, *kinds: Kind, optional: int = 0):
    """Register ``func(sms, *args)`` as the XML-RPC method ``name``."""
    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name] = Method(name, kinds, optional, func)
        return func
    return register


def dispatch(sms, name: str, params: tuple) -> Any:
    """Check the auth and the arguments of one call, then run it on ``sms``."""
    found = REGISTRY.get(name)
    if found is None:
        raise refuse(f"Nieznana metoda {name}", NO_METHOD)
    if not params or not sms.authorised(params[0]):
        raise refuse("Błąd autoryzacji: niepoprawny login lub hasło", AUTH_FAILED)
    args = params[1:]
    most, least = len(found.kinds), len(found.kinds) - found.optional
    if not least <= len(args) <= most:
        wanted = f"{least}" if least == most else f"{least}-{most}"
        raise refuse(f"{name}: niepoprawna liczba argumentów ({len(args)}, oczekiwano "
                     f"{wanted})", BAD_ARGUMENTS)
    converted = []
    for position, (kind, value) in enumerate(zip(found.kinds, args), 1):
        try:
            converted.append(kind.convert(value))
        except (ValueError, TypeError):
            raise refuse(f"{name}: argument {position} musi być typu {kind.name}",
                         BAD_ARGUMENTS) from None
    with sms.lock:
        sms.calls.append((name, tuple(converted)))
        return none_free(found.func(sms, *converted))


@dataclass(frozen=True)
class Streamed:
    """A method's answer sent as it is made: the whole XML-RPC reply as chunks of bytes
    (a month of billing events is hundreds of MB). The chunks are made after the call
    returns, outside the state's lock."""

    chunks: Iterable[bytes]


def none_free(value: Any) -> Any:
    """SGT's answers carry no nil: an absent value is an empty string."""
    if isinstance(value, Streamed):
        return value
    if value is None:
        return ""
    if isinstance(value, dict):
        return {k: none_free(v) for k, v in value.items()}
    if isinstance(value, list):
        return [none_free(v) for v in value]
    return value


def struct(name: str, data: dict, allowed: tuple[str, ...], required: tuple[str, ...] = ()
           ) -> dict[str, str]:
    """A struct argument's members checked: known names, string values, the required ones
    not empty."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise refuse(f"{name}: nieznane pole {unknown[0]}", BAD_ARGUMENTS)
    for key, value in data.items():
        if not isinstance(value, str):
            raise refuse(f"{name}: pole {key} musi być tekstem", BAD_ARGUMENTS)
    for key in required:
        if not data.get(key, "").strip():
            raise refuse(f"{name}: pole {key} jest wymagane", BAD_ARGUMENTS)
    return dict(data)


def day(name: str, value: str) -> date:
    """A "YYYY-MM-DD" argument as a date."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise refuse(f"{name}: niepoprawna data {value!r} (RRRR-MM-DD)", BAD_ARGUMENTS) from None
