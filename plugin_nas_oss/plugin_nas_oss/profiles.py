"""Vendor profiles: what each OSS command (Carbon Billing's table) becomes on a NAS.

A profile is data: for every command an `Action` — the transport (a RADIUS CoA-Request,
a Disconnect-Request, a NAPALM change or getter, or nothing) and the attributes to send,
each a template filled from the account (`{ip}`, `{login}`, `{session_id}`, `{mac}`,
`{vlan}`, `{port}`, and for services `{activate_string}` / `{deactivate_string}`).
A command a profile does not list is not sent (transport "none").

Four profiles ship (mikrotik, cisco_isg, juniper_mx, accel_ppp). Another plugin adds its
own with `register(Profile(...))` when it is imported (the README shows how); an operator
overrides single commands per NAS in the agent setting "commands" (see `with_overrides`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from string import Formatter
from typing import Any, Mapping

#: Carbon Billing's OSS commands, in the seed's order.
COMMANDS = ("user_add", "user_del", "user_drop", "user_accept", "user_auth", "user_disconnect",
            "user_info", "user_test", "users_from_nas", "own_disabled", "usluga_activated",
            "usluga_deactivated", "b_admin", "u_b_admin", "b_sys", "u_b_sys", "rad_acc_stop")

TRANSPORTS = ("coa", "disconnect", "napalm", "none")

#: The template variables an attribute may use.
VARIABLES = ("login", "ip", "mac", "vlan", "port", "session_id", "nas_ip", "service",
             "activate_string", "deactivate_string")


@dataclass(frozen=True)
class Action:
    """One command on one kind of NAS.

    `attributes` are (name, template) pairs; a name may repeat (Cisco-AVPair). For
    transport "napalm", `napalm` is the configuration to merge (a template) or, for the
    diagnostics commands, the name of a getter (get_arp_table, ping…).
    """

    transport: str = "none"
    attributes: tuple[tuple[str, str], ...] = ()
    napalm: str = ""

    def __post_init__(self):
        if self.transport not in TRANSPORTS:
            raise ValueError(f"transport {self.transport!r} is not one of {', '.join(TRANSPORTS)}")

    def render(self, values: Mapping[str, Any]) -> list[tuple[str, str]]:
        """The attributes with the account's values filled in; an attribute whose template
        uses a value the account lacks (no session id yet) is left out."""
        rendered = []
        for name, template in self.attributes:
            try:
                text = template.format_map(_Strict(values))
            except _Missing:
                continue
            rendered.append((name, text))
        return rendered

    def describe(self) -> str:
        """One line for the admin's command → action table."""
        if self.transport == "none":
            return "—"
        parts = [f'{name} = "{template}"' for name, template in self.attributes]
        if self.napalm:
            parts.append(self.napalm)
        return f"{self.transport}: " + ", ".join(parts) if parts else self.transport


class _Missing(KeyError):
    pass


class _Strict(dict):
    """format_map's mapping: a variable without a value (absent, None or empty) raises."""

    def __getitem__(self, key):
        value = self.get(key)
        if value in (None, ""):
            raise _Missing(key)
        return value


def template_problem(template: str) -> str | None:
    """Why `template` cannot be filled in (a variable that is not one of VARIABLES), or None."""
    try:
        used = [name for _, name, _, _ in Formatter().parse(template) if name is not None]
    except ValueError as exc:
        return f"{template!r}: {exc}"
    unknown = [name for name in used if name not in VARIABLES]
    if unknown:
        return f"{template!r} uses {{{unknown[0]}}}; variables: {', '.join(VARIABLES)}"
    return None


@dataclass(frozen=True)
class Profile:
    """A kind of NAS: its commands and how it finds a subscriber's session.

    `identify` are the attributes every CoA / Disconnect-Request carries to name the
    session (MikroTik needs Framed-IP-Address and Acct-Session-Id; ISG and MX take the
    User-Name or Acct-Session-Id).
    """

    name: str
    title: str
    identify: tuple[tuple[str, str], ...]
    actions: Mapping[str, Action] = field(default_factory=dict)

    def action(self, command: str) -> Action:
        if command not in COMMANDS:
            raise KeyError(f"unknown command {command!r}")
        return self.actions.get(command, Action())

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> "Profile":
        """This profile with some commands replaced (a NAS's "commands" setting:
        {"user_drop": {"transport": "coa", "attributes": [["Filter-Id", "neg"]]}})."""
        if not overrides:
            return self
        return replace(self, actions={**self.actions, **{
            command: parse_action(command, raw) for command, raw in overrides.items()}})


def parse_action(command: str, raw: Any) -> Action:
    """An Action from its JSON form; ValueError naming the command when it is wrong."""
    if command not in COMMANDS:
        raise ValueError(f"{command!r} is not an OSS command (one of {', '.join(COMMANDS)})")
    if not isinstance(raw, Mapping):
        raise ValueError(f"{command}: must be a mapping with transport and attributes")
    unknown = set(raw) - {"transport", "attributes", "napalm"}
    if unknown:
        raise ValueError(f"{command}: unknown key(s) {', '.join(sorted(unknown))}")
    pairs = raw.get("attributes") or []
    if isinstance(pairs, Mapping):
        pairs = list(pairs.items())
    if not all(isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(x, str) for x in p)
               for p in pairs):
        raise ValueError(f"{command}: attributes must be [name, template] pairs of text")
    for _, template in pairs:
        problem = template_problem(template)
        if problem:
            raise ValueError(f"{command}: {problem}")
    try:
        return Action(transport=str(raw.get("transport", "none")),
                      attributes=tuple((name, template) for name, template in pairs),
                      napalm=str(raw.get("napalm") or ""))
    except ValueError as exc:
        raise ValueError(f"{command}: {exc}") from None


_REGISTRY: dict[str, Profile] = {}


def register(profile: Profile) -> None:
    """Add (or replace) a vendor profile; call it when your plugin's module is imported."""
    _REGISTRY[profile.name] = profile


def get(name: str) -> Profile:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown NAS profile {name!r}; known: {', '.join(names())}") from None


def names() -> list[str]:
    return sorted(_REGISTRY)


def all_profiles() -> list[Profile]:
    return [_REGISTRY[name] for name in names()]


def _coa(*attributes: tuple[str, str]) -> Action:
    return Action("coa", tuple(attributes))


DISCONNECT = Action("disconnect")

register(Profile(
    name="mikrotik", title="MikroTik RouterOS (PPPoE / IPoE / HotSpot)",
    identify=(("Framed-IP-Address", "{ip}"), ("Acct-Session-Id", "{session_id}"),
              ("User-Name", "{login}")),
    actions={
        "user_del": DISCONNECT,
        "user_drop": _coa(("Mikrotik-Address-List", "negative_balance")),
        "user_accept": _coa(("Mikrotik-Address-List", "allowed")),
        "user_auth": _coa(("Mikrotik-Address-List", "allowed")),
        "user_disconnect": DISCONNECT,
        "user_info": Action("napalm", napalm="get_arp_table"),
        "user_test": Action("napalm", napalm="ping"),
        "own_disabled": _coa(("Mikrotik-Address-List", "voluntary_block")),
        "usluga_activated": _coa(("Mikrotik-Rate-Limit", "{activate_string}")),
        "usluga_deactivated": _coa(("Mikrotik-Rate-Limit", "{deactivate_string}")),
        "b_admin": _coa(("Mikrotik-Address-List", "blocked_admin")),
        "u_b_admin": _coa(("Mikrotik-Address-List", "allowed")),
        "b_sys": _coa(("Mikrotik-Address-List", "voluntary_block")),
        "u_b_sys": _coa(("Mikrotik-Address-List", "allowed")),
    }))

register(Profile(
    name="cisco_isg", title="Cisco ISG (IOS XE BNG)",
    identify=(("User-Name", "{login}"), ("Acct-Session-Id", "{session_id}")),
    actions={
        "user_del": DISCONNECT,
        "user_drop": _coa(("Cisco-AVPair", "subscriber:command=activate-service"),
                          ("Cisco-AVPair", "subscriber:service-name=NEGATIVE_BALANCE")),
        "user_accept": _coa(("Cisco-AVPair", "subscriber:command=deactivate-service"),
                            ("Cisco-AVPair", "subscriber:service-name=NEGATIVE_BALANCE")),
        "user_auth": _coa(("Cisco-AVPair", "subscriber:command=account-logon")),
        "user_disconnect": _coa(("Cisco-AVPair", "subscriber:command=account-logoff")),
        "user_info": _coa(("Cisco-AVPair", "subscriber:command=account-status-query")),
        "user_test": Action("napalm", napalm="ping"),
        "own_disabled": _coa(("Cisco-AVPair", "subscriber:command=activate-service"),
                             ("Cisco-AVPair", "subscriber:service-name=VOLUNTARY_BLOCK")),
        "usluga_activated": _coa(("Cisco-AVPair", "subscriber:command=activate-service"),
                                 ("Cisco-AVPair", "subscriber:service-name={activate_string}")),
        "usluga_deactivated": _coa(("Cisco-AVPair", "subscriber:command=deactivate-service"),
                                   ("Cisco-AVPair",
                                    "subscriber:service-name={deactivate_string}")),
        "b_admin": _coa(("Cisco-AVPair", "subscriber:command=activate-service"),
                        ("Cisco-AVPair", "subscriber:service-name=BLOCKED_ADMIN")),
        "u_b_admin": _coa(("Cisco-AVPair", "subscriber:command=deactivate-service"),
                          ("Cisco-AVPair", "subscriber:service-name=BLOCKED_ADMIN")),
        "b_sys": _coa(("Cisco-AVPair", "subscriber:command=activate-service"),
                      ("Cisco-AVPair", "subscriber:service-name=VOLUNTARY_BLOCK")),
        "u_b_sys": _coa(("Cisco-AVPair", "subscriber:command=deactivate-service"),
                        ("Cisco-AVPair", "subscriber:service-name=VOLUNTARY_BLOCK")),
    }))

register(Profile(
    name="juniper_mx", title="Juniper MX (ERX dynamic services)",
    identify=(("Acct-Session-Id", "{session_id}"), ("User-Name", "{login}")),
    actions={
        "user_del": DISCONNECT,
        "user_drop": _coa(("ERX-Service-Deactivate", "internet"),
                          ("ERX-Service-Activate:1", "negative-balance")),
        "user_accept": _coa(("ERX-Service-Deactivate", "negative-balance"),
                            ("ERX-Service-Activate:1", "internet")),
        "user_disconnect": DISCONNECT,
        "user_info": Action("napalm", napalm="get_arp_table"),
        "user_test": Action("napalm", napalm="ping"),
        "usluga_activated": _coa(("ERX-Service-Activate:1", "{activate_string}")),
        "usluga_deactivated": _coa(("ERX-Service-Deactivate", "{deactivate_string}")),
        "b_admin": _coa(("ERX-Service-Activate:2", "blocked-admin")),
        "u_b_admin": _coa(("ERX-Service-Deactivate", "blocked-admin")),
        "b_sys": _coa(("ERX-Service-Activate:2", "voluntary-block")),
        "u_b_sys": _coa(("ERX-Service-Deactivate", "voluntary-block")),
    }))

register(Profile(
    name="accel_ppp", title="accel-ppp (Linux BRAS)",
    identify=(("User-Name", "{login}"), ("Framed-IP-Address", "{ip}"),
              ("Acct-Session-Id", "{session_id}")),
    actions={
        "user_del": DISCONNECT,
        "user_drop": _coa(("Filter-Id", "negative_balance")),
        "user_accept": _coa(("Filter-Id", "allowed")),
        "user_disconnect": DISCONNECT,
        # the rate comes in the Access-Accept: Filter-Id carries the block state only
        "b_admin": _coa(("Filter-Id", "blocked_admin")),
        "u_b_admin": _coa(("Filter-Id", "allowed")),
        "b_sys": _coa(("Filter-Id", "voluntary_block")),
        "u_b_sys": _coa(("Filter-Id", "allowed")),
    }))
