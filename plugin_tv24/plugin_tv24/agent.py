"""The "24h TV" agent type: what an agent needs to reach its platform, and the rules a
24h TV account must follow.

An agent holds one provider account on the platform (API URL and token), the callback
protection (secret path token and source addresses) and the defaults for accounts that
register themselves in the app. A service is a 24h TV packet when its external code is
the packet id (digits), so the packet ↔ service mapping lives in the catalog, per tariff.

The platform knows a user by a mobile phone: the account's login must be one (digits
only, starting with 7), or the account field `tv24_username` carries it and becomes the
platform username (LANBilling's lbcore-tv24 rule).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from core import AgentType, Field, ValidationError

CODE = "tv24"
PHONE = r"7\d{10}"
PHONE_RULE = "must be a mobile phone of 11 digits starting with 7 (digits only, no + or -)"


def is_phone(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(PHONE, value) is not None


def _address_list(values: list) -> None:
    for value in values:
        try:
            ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network "
                             f"(e.g. 203.0.113.10 or 203.0.113.0/24)") from None


def _phone(value: str) -> None:
    if not is_phone(value):
        raise ValueError(PHONE_RULE)


SETTINGS = (
    Field("api_url", "url", required=True, label="API base URL",
          help="the provider API, e.g. https://api.24h.tv"),
    Field("token", required=True, secret=True, label="Provider token"),
    Field("callback_secret", required=True, secret=True,
          help="secret path token of the callback URL registered with the platform: "
               "<billing>/tv24/<secret>"),
    Field("allowed_sources", "list", required=True, check=_address_list,
          help="addresses or networks the platform calls from; 0.0.0.0/0 allows any"),
    Field("default_agent_id", "int", min=1,
          help="agent of accounts created by self-registration (default: this agent)"),
    Field("default_tar_id", "int", min=1,
          help="tariff of accounts created by self-registration; empty: self-registration off"),
)

ACCOUNT_FIELDS = (
    Field("tv24_username", check=_phone, label="24h TV username",
          help="the mobile phone (7XXXXXXXXXX) when the login cannot be it; "
               "becomes the platform username"),
    Field("tv24_devicelimit", "int", min=0, max=100, label="24h TV device limit",
          help="overrides the tariff's device limit"),
)


def _check_account(draft) -> None:
    if is_phone(draft.login) or draft.fields.get("tv24_username"):
        return
    raise ValidationError("login", f"{PHONE_RULE}, or fill in the field tv24_username "
                                   f"with the phone")


AGENT_TYPE = AgentType(code=CODE, title="24h TV", settings=SETTINGS,
                       account_fields=ACCOUNT_FIELDS, check_account=_check_account)


@dataclass(frozen=True)
class AgentSettings:
    """One 24h TV agent's validated settings."""

    agent_id: int
    api_url: str
    token: str
    callback_secret: str
    allowed_sources: tuple[str, ...]
    default_agent_id: int
    default_tar_id: int | None

    @classmethod
    def of(cls, agent_id: int, raw: dict | None) -> "AgentSettings":
        values = AGENT_TYPE.clean_settings(raw)
        return cls(agent_id=agent_id, api_url=values["api_url"], token=values["token"],
                   callback_secret=values["callback_secret"],
                   allowed_sources=tuple(str(v).strip() for v in values["allowed_sources"]),
                   default_agent_id=values["default_agent_id"] or agent_id,
                   default_tar_id=values["default_tar_id"])

    def allows(self, address: str | None) -> bool:
        """Whether a callback from `address` is let in."""
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(n, strict=False) for n in self.allowed_sources)


@dataclass(frozen=True)
class Identity:
    """What the platform calls an account: its username and phone."""

    username: str
    phone: str


def identity(login: str, fields: dict[str, Any]) -> Identity:
    """The platform username and phone of an account (the login, or tv24_username)."""
    username = fields.get("tv24_username") or login
    return Identity(username=username, phone=login if is_phone(login) else username)


def device_limit(fields: dict[str, Any], tariff_limit: int | None) -> int | None:
    """The account's own limit, else the tariff's; None leaves the platform's default."""
    own = fields.get("tv24_devicelimit")
    return own if own is not None else tariff_limit


def packet_id(external_code: Any) -> int | None:
    """The packet a service stands for (its external code), or None for other services."""
    code = str(external_code or "").strip()
    return int(code) if code.isdigit() else None
