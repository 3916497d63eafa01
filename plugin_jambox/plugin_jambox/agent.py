"""The "JAMBOX" agent type: how an agent reaches SGT's SMS, and what a JAMBOX account
carries.

An agent is one SMS login (production `https://sms.sgtsa.pl/sms/xmlrpc` or the sandbox
`https://sms.sgtsa.pl/test/xmlrpc`), with SGT's timeouts, the module's read cache and the
block sources that put a debt-collection lock on the TV account.

A billing account on a JAMBOX agent is one SMS TV account: its installation address is in
the account's fields (the SMS wants city, street and house number; a postal code
`NN-NNN`). The SMS customer is the account's contract (exported with the subscriber's
name, phones and e-mail, the contract id as SGT's "external id").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import AgentType, Field

CODE = "jambox"
PRODUCTION = "https://sms.sgtsa.pl/sms/xmlrpc"
SANDBOX = "https://sms.sgtsa.pl/test/xmlrpc"
BLOCK_SOURCES = ("balance", "admin", "voluntary", "disabled")
POSTAL_CODE = r"\d{2}-\d{3}"


def _block_sources(values: list) -> None:
    for value in values:
        if value not in BLOCK_SOURCES:
            raise ValueError(f"{value!r} is not a block source; one of {', '.join(BLOCK_SOURCES)}")


SETTINGS = (
    Field("sms_url", "url", required=True, default=PRODUCTION, label="SMS server URL",
          help=f"production {PRODUCTION}, sandbox {SANDBOX}"),
    Field("login", required=True, help="the SMS user every call is made as"),
    Field("password", required=True, secret=True,
          help="its password (sent as MD5 hex; an MD5 hex value is taken as it is)"),
    Field("timeout", "decimal", default="10", min=1, max=300,
          help="seconds to wait for the SMS's answer"),
    Field("events_timeout", "decimal", default="30", min=1, max=600,
          help="seconds to wait for the billing events call"),
    Field("cache", "bool", default=False, help="keep the SMS's read answers for a while"),
    Field("cache_lifetime", "int", default=472000, min=1, max=10_000_000,
          help="seconds a cached answer is kept (SGT's module: 472000)"),
    Field("lock_sources", "list", default=["balance"], check=_block_sources,
          help="block sources that put the debt-collection lock on the TV account "
               f"({', '.join(BLOCK_SOURCES)})"),
)

ACCOUNT_FIELDS = (
    Field("jambox_city", required=True, label="Installation city"),
    Field("jambox_street", required=True, label="Installation street"),
    Field("jambox_home_nr", required=True, label="House number"),
    Field("jambox_flat", label="Flat"),
    Field("jambox_postal_code", pattern=POSTAL_CODE, label="Postal code",
          help="NN-NNN"),
)

AGENT_TYPE = AgentType(code=CODE, title="JAMBOX", settings=SETTINGS,
                       account_fields=ACCOUNT_FIELDS)


@dataclass(frozen=True)
class AgentSettings:
    """One JAMBOX agent's validated settings."""

    agent_id: int
    sms_url: str
    login: str
    password: str
    timeout: float
    events_timeout: float
    cache: bool
    cache_lifetime: int
    lock_sources: tuple[str, ...]

    @classmethod
    def of(cls, agent_id: int, raw: dict | None) -> "AgentSettings":
        values = AGENT_TYPE.clean_settings(raw)
        return cls(agent_id=agent_id, sms_url=values["sms_url"], login=values["login"],
                   password=values["password"], timeout=float(values["timeout"]),
                   events_timeout=float(values["events_timeout"]), cache=values["cache"],
                   cache_lifetime=values["cache_lifetime"],
                   lock_sources=tuple(values["lock_sources"]))


def installation_address(fields: dict[str, Any]) -> dict[str, str]:
    """The SMS's `acc_data` of an account: its installation address."""
    return {f"cust_i_{name}": str(fields.get(f"jambox_{name}") or "")
            for name in ("city", "street", "home_nr", "flat", "postal_code")}


def package_id(external_code: Any) -> int | None:
    """The SGT package a service stands for (its external code), or None."""
    code = str(external_code or "").strip()
    return int(code) if code.isdigit() else None
