"""The "NAS" agent type: one agent per NAS / BRAS, and the fields of the accounts it serves.

An agent holds how to reach the device (address, CoA port and secret, the RADIUS secret it
shares with our RADIUS server, NAPALM driver and credentials), which vendor profile turns
commands into attributes (plugin_nas_oss.profiles), per-command overrides, and two
switches: "synchronise sessions" (users_from_nas runs for it) and "in service".

An account carries the key parameters of Carbon's OSS scheme: its NAS (the agent), IP,
VLAN and port; and its MAC, auth type and RADIUS password. The IP is unique per NAS among
accounts not in the trash (`unique_ip`, checked when the account is written).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, literal_column, select, text
from sqlalchemy.orm import Session

from core import Account, AgentType, Field, ValidationError
from plugin_nas_oss import profiles

CODE = "nas"
AUTH_TYPES = ("pppoe", "ipoe", "static", "hotspot")
#: The account fields whose change is a key-parameter change (user_del old, new; user_add).
KEY_FIELDS = ("ip", "vlan", "port")


def _ip(value: str) -> None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address (e.g. 10.0.0.15)") from None


def _profile(value: str) -> None:
    if value not in profiles.names():
        raise ValueError(f"unknown profile {value!r}; one of {', '.join(profiles.names())}")


def _commands(value: dict) -> None:
    for command, raw in value.items():
        profiles.parse_action(command, raw)


_MAC_DIGITS = re.compile(r"[0-9a-fA-F]{12}")


def normal_mac(value: str) -> str:
    """A MAC in any usual spelling (aa:bb:…, AA-BB-…, aabb.ccdd.eeff, bare hex) as
    lower-case colon-separated pairs; ValueError for anything else."""
    digits = re.sub(r"[\s:.\-]", "", value)
    if not _MAC_DIGITS.fullmatch(digits):
        raise ValueError(f"{value!r} is not a MAC address (e.g. 00:1a:2b:3c:4d:5e)")
    digits = digits.lower()
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def _mac(value: str) -> None:
    normal_mac(value)


SETTINGS = (
    Field("address", required=True, check=_ip, label="NAS address",
          help="the IPv4 address the NAS listens for CoA on and sends RADIUS from"),
    Field("coa_port", "int", default=3799, min=1, max=65535, label="CoA port"),
    Field("coa_secret", required=True, secret=True, label="CoA secret"),
    Field("radius_secret", required=True, secret=True, label="RADIUS secret",
          help="shared with the billing's RADIUS server for this NAS's Access / Accounting"),
    Field("profile", default="mikrotik", check=_profile, label="Vendor profile",
          help="mikrotik, cisco_isg, juniper_mx, accel_ppp, or one another plugin adds"),
    Field("commands", "dict", default={}, check=_commands, label="Command overrides",
          help='per command: {"transport": "coa|disconnect|napalm|none", '
               '"attributes": [["Filter-Id", "{activate_string}"]]}'),
    Field("timeout", "decimal", default="3", min=Decimal("0.1"), max=60,
          help="seconds to wait for the NAS's answer to one CoA / Disconnect-Request"),
    Field("retries", "int", default=2, min=0, max=10,
          help="times a request is sent again before the NAS counts as silent"),
    Field("napalm_driver", label="NAPALM driver",
          help="ios, iosxr, junos, eos, nxos_ssh, ros (MikroTik) or mock; empty: no NAPALM"),
    Field("napalm_host", label="NAPALM host", help="default: the NAS address"),
    Field("napalm_username", label="NAPALM username"),
    Field("napalm_password", secret=True, label="NAPALM password"),
    Field("sync_sessions", "bool", default=False, label="Synchronise sessions",
          help="users_from_nas compares this NAS's sessions with the billing on schedule"),
    Field("in_service", "bool", default=True, label="In service",
          help="off: commands for this NAS are not sent (and its sync failures are quiet)"),
)

ACCOUNT_FIELDS = (
    Field("ip", check=_ip, label="IP address", help="unique on its NAS"),
    Field("vlan", "int", min=1, max=4094, label="VLAN"),
    Field("port", label="Port", help="the switch port or NAS-Port-Id"),
    Field("mac", check=_mac, label="MAC address"),
    Field("auth_type", default="pppoe", choices=AUTH_TYPES, label="Auth type",
          help="pppoe and hotspot: RADIUS login and password; ipoe: by IP or MAC; "
               "static: a fixed IP configured on the NAS"),
    Field("radius_password", secret=True, label="RADIUS password"),
)


def _check_account(draft) -> None:
    """Rules across fields; the MAC is stored in one spelling (draft.fields is the dict
    the core saves), so the RADIUS server and the search find it however it was typed."""
    fields = draft.fields
    if fields.get("mac"):
        fields["mac"] = normal_mac(fields["mac"])
    auth = fields.get("auth_type", "pppoe")
    if auth == "static" and not fields.get("ip"):
        raise ValidationError("fields.ip", "is required for a static-IP account")
    if auth == "ipoe" and not (fields.get("ip") or fields.get("mac")):
        raise ValidationError("fields.ip", "an IPoE account needs its IP address or its MAC")


AGENT_TYPE = AgentType(code=CODE, title="NAS", settings=SETTINGS,
                       account_fields=ACCOUNT_FIELDS, check_account=_check_account)


#: The database's guard of the same rule on PostgreSQL (migration nas_oss_0004), for two
#: accounts saved at once: a unique partial index of the plugin's on the core's `account`
#: (the drift check tells it by `package`). SQLite runs one writer at a time, so the
#: check before the flush is enough there.
UNIQUE_IP = Index("uq_account_nas_ip", Account.__table__.c.agent_id,
                  Account.__table__.c.fields.op("->>")(literal_column("'ip'")).label("ip"),
                  unique=True, postgresql_where=text("trashed_at IS NULL"),
                  info={"package": __name__.split(".")[0]}).ddl_if(dialect="postgresql")
Account.__table__.append_constraint(UNIQUE_IP)


def unique_ip(session: Session, flush_context=None, instances=None) -> None:
    """before_flush: refuse a NAS account whose IP another live account of the same NAS
    has, naming the field (the core's own checks cannot see other accounts' fields)."""
    for account in (*session.new, *session.dirty):
        if (not isinstance(account, Account) or account.trashed_at is not None
                or not (account.fields or {}).get("ip")):
            continue
        with session.no_autoflush:
            agent = account.agent  # a new account may have its agent, not yet its agent_id
            if agent is None or agent.type != CODE:
                continue
            query = select(Account.login).where(
                Account.agent_id == agent.id, Account.trashed_at.is_(None),
                Account.fields["ip"].as_string() == account.fields["ip"])
            if account.id is not None:
                query = query.where(Account.id != account.id)
            taken = session.scalar(query.limit(1))
        if taken is not None:
            raise ValidationError("fields.ip", f"{account.fields['ip']} is already the IP of "
                                               f"account {taken} on this NAS")


@dataclass(frozen=True)
class NasSettings:
    """One NAS agent's validated settings, as the CoA client and the deliveries use them."""

    agent_id: int
    address: str
    coa_port: int
    coa_secret: str
    radius_secret: str
    profile: profiles.Profile
    timeout: float
    retries: int
    napalm_driver: str | None
    napalm_host: str
    napalm_username: str | None
    napalm_password: str | None
    sync_sessions: bool
    in_service: bool

    @classmethod
    def of(cls, agent_id: int, raw: dict | None) -> "NasSettings":
        values = AGENT_TYPE.clean_settings(raw)
        return cls(agent_id=agent_id, address=values["address"], coa_port=values["coa_port"],
                   coa_secret=values["coa_secret"], radius_secret=values["radius_secret"],
                   profile=profiles.get(values["profile"]).with_overrides(values["commands"]),
                   timeout=float(values["timeout"]), retries=values["retries"],
                   napalm_driver=values["napalm_driver"] or None,
                   napalm_host=values["napalm_host"] or values["address"],
                   napalm_username=values["napalm_username"],
                   napalm_password=values["napalm_password"],
                   sync_sessions=values["sync_sessions"], in_service=values["in_service"])


def account_values(account: dict[str, Any]) -> dict[str, Any]:
    """The template variables of an account snapshot (its fields and login)."""
    fields = account.get("fields") or {}
    return {"login": account.get("login"), "ip": fields.get("ip"), "mac": fields.get("mac"),
            "vlan": fields.get("vlan"), "port": fields.get("port")}
