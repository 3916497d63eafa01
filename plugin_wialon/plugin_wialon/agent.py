"""The "Wialon" agent type: how to reach one Wialon service and how to count on it.

An agent is one Wialon login (API host and token) whose daily counting run writes into
one CDR spool source (`Wialon_1`, as Carbon Billing names it) at a time of day. Its
accounts carry the Wialon billing account id in `ext_id` (a column of the account: the
spool's records find their account by it), a positive whole number.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from core import AgentType, Field, ValidationError, check_source
from plugin_wialon.client import METHODS

CODE = "wialon"
TOKEN_LENGTH = 72
DEFAULT_API_URL = "https://hst-api.wialon.com"
DEFAULT_SOURCE = "Wialon_1"
DEFAULT_RUN_TIME = time(3, 30)


def _token(value: str) -> None:
    if len(value) != TOKEN_LENGTH or any(ch.isspace() for ch in value):
        raise ValueError(f"a Wialon token is {TOKEN_LENGTH} characters without spaces; "
                         f"this one has {len(value)}")


def run_time_of(value: str) -> time:
    """"03:30" → 03:30; ValueError naming the value if it is not a time of day."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"must be a time of day HH:MM, not {value[:40]!r}")
    return time(int(match[1]), int(match[2]))


def _source(value: str) -> None:
    try:
        check_source(value)
    except ValidationError as exc:
        raise ValueError(exc.reason) from None


SETTINGS = (
    Field("api_url", "url", default=DEFAULT_API_URL, label="API host",
          help="the Wialon Remote API host, e.g. https://hst-api.wialon.com"),
    Field("token", required=True, secret=True, check=_token, label="Token",
          help="the 72-character token of the Wialon user the billing counts as"),
    Field("cdr_source", default=DEFAULT_SOURCE, check=_source, label="CDR source",
          help="the spool folder under <var_dir>/cdr/ the daily run writes to"),
    # Text checked here, not the "time" type: settings are saved as cleaned, and a
    # cleaned time is stored as "03:30:00", which the "time" type refuses when read back.
    Field("run_time", default=DEFAULT_RUN_TIME.strftime("%H:%M"), check=run_time_of,
          label="Run time",
          help="time of day (the operator's time zone) of the daily counting run; "
               "a change takes effect when the scheduler restarts"),
    Field("count_method", default="search", choices=tuple(METHODS), label="How units are counted",
          help="search: count the units whose sys_billing_account_guid is the account; "
               "account_data: the account's avl_unit usage (tells an unknown account apart)"),
)

ACCOUNT_FIELDS = (
    Field("ext_id", "int", min=1, label="Wialon account id",
          help="the Wialon billing account whose units are counted every day"),
)

AGENT_TYPE = AgentType(code=CODE, title="Wialon", settings=SETTINGS,
                       account_fields=ACCOUNT_FIELDS)


@dataclass(frozen=True)
class AgentSettings:
    """One Wialon agent's validated settings."""

    agent_id: int
    name: str
    api_url: str
    token: str
    cdr_source: str
    run_time: time
    count_method: str

    @classmethod
    def of(cls, agent) -> "AgentSettings":
        """From an `Agent` row; raises ValidationError naming `settings.<key>`."""
        values = AGENT_TYPE.clean_settings(agent.settings)
        return cls(agent_id=agent.id, name=agent.name, api_url=values["api_url"],
                   token=values["token"], cdr_source=values["cdr_source"],
                   run_time=run_time_of(values["run_time"]),
                   count_method=values["count_method"])


def wialon_account_id(ext_id: str | None) -> int | None:
    """The Wialon account id an account's ext_id holds, or None when it holds none (an
    account saved before its agent was a Wialon one may carry any text)."""
    text = (ext_id or "").strip()
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        return None
    return int(text)
