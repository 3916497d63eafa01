"""Configuration: one TOML file plus `ABONENT_*` environment overrides.

The file is named by `--config` or `ABONENT_CONFIG`; without one, defaults apply (an
SQLite file under `var/`). An environment variable overrides one key: `ABONENT_TIMEZONE`,
`ABONENT_OUTBOX__MAX_ATTEMPTS`, `ABONENT_PLUGINS__TV24__TOKEN` (double underscores nest).
Every key is validated at start-up and a bad one stops it with a message naming the key;
each plugin's `[plugins.<name>]` section is validated by the plugin host against the
schema the plugin declares.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ConfigError, ValidationError
from core.fields import Field, field_problems

ENV_PREFIX = "ABONENT_"
#: Environment variables with the prefix that are not configuration keys.
ENV_RESERVED = ("ABONENT_CONFIG",)
ENV_IGNORED_PREFIXES = ("ABONENT_TEST_", "ABONENT_PG_")
#: the section of the payment gateways, one `[payment_gateways.<name>]` table each
GATEWAYS = "payment_gateways"


def _zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (e.g. Europe/Moscow)") from None


def _database_url(url: str) -> None:
    if not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise ValueError("must be an sqlite:/// or postgresql+psycopg:// URL")


SCHEMA: dict[str, tuple[Field, ...]] = {
    "": (
        Field("database_url", check=_database_url,
              help="SQLAlchemy URL; default: an SQLite file under var_dir"),
        Field("var_dir", default="var", help="where the SQLite file, CDR spools and logs live"),
        Field("timezone", default="UTC", check=_zone, help="the operator's time zone"),
    ),
    "server": (
        Field("host", default="127.0.0.1"),
        Field("port", "int", default=8000, min=1, max=65535),
        Field("secret_key", secret=True, help="signs sessions; generated under var/ if empty"),
        Field("secure_cookies", "bool", default=False,
              help="send the session cookie over HTTPS only (on when served behind TLS)"),
        Field("trusted_proxies", "int", default=0, min=0, max=5,
              help="reverse proxies in front of the server whose X-Forwarded-For/-Proto/"
                   "-Host headers are believed (0: none, the server faces clients itself)"),
        Field("max_upload_mb", "int", default=64, min=1, max=4096,
              help="the largest request body taken, in MiB (an import file, a request's "
                   "attachments); a larger one is answered 413 before it is read"),
    ),
    "outbox": (
        Field("max_attempts", "int", default=8, min=1, max=1000,
              help="failed attempts before a delivery is dead-lettered"),
        Field("retry_later_max_seconds", "int", default=604800, min=1,
              help="a delivery whose plugin still answers RetryLater this long after its "
                   "event happened is dead-lettered (RetryLater is not a failed attempt)"),
        Field("backoff_base", "decimal", default=2, min=0, help="seconds before the 1st retry"),
        Field("backoff_max", "decimal", default=3600, min=0, help="longest wait between retries"),
        Field("lease_seconds", "int", default=10, min=1,
              help="how long a claimed delivery stays reserved for its worker without a "
                   "heartbeat: a killed worker's deliveries are taken again after this"),
        Field("heartbeat_seconds", "decimal", default=2, min=Decimal("0.1"),
              help="how often a live worker renews its leases; at most lease_seconds / 3"),
        Field("batch_size", "int", default=200, min=1, max=10000),
        Field("poll_interval", "decimal", default=1, min=0),
    ),
    "plugins": (
        Field("disabled", "list", default=[], help="plugin names not to load"),
    ),
    "cdr": (
        Field("settle_seconds", "int", default=5, min=0,
              help="a spool file is taken only when unchanged for this long"),
    ),
    "billing": (  # the window of dates the services take (core.services.dates)
        Field("charge_days_ahead", "int", default=1, min=0, max=31,
              help="a charge run may be for a day at most this many days after today"),
        Field("payment_days_back", "int", default=366, min=1,
              help="a payment may be dated at most this many days back (none in the future)"),
        Field("usage_days_back", "int", default=366, min=1,
              help="usage may be for a day at most this many days back (none in the future)"),
        Field("plan_days_ahead", "int", default=366, min=1,
              help="tariff changes, dated blocks and subscription starts at most this many "
                   "days ahead"),
    ),
    "money": (  # corrections of money (core.services.corrections, promises)
        Field("confirm_above", "decimal", default=0, min=0,
              help="a payment or credit entered by a person above this amount must be "
                   "confirmed (the admin asks, the CLI needs --confirm); 0: never asked"),
        Field("promise_max_amount", "decimal", default=500, min=0,
              help="the largest promised payment (0: promised payments are off)"),
        Field("promise_days", "int", default=3, min=1, max=90,
              help="a promised payment holds for this many days, today included"),
        Field("promise_every_days", "int", default=30, min=0, max=366,
              help="no new promised payment within this many days of the last one given"),
        Field("instalment_max_months", "int", default=24, min=1, max=120,
              help="equipment may be sold in at most this many monthly instalments"),
    ),
    "mail": (  # outgoing e-mail: invoices, statements, messages (core.mail, core.mailer)
        Field("host", default="", help="the SMTP server; empty: e-mail is not sent"),
        Field("port", "int", default=25, min=1, max=65535),
        Field("security", default="none", choices=("none", "starttls", "ssl"),
              help="starttls: upgrade the connection (port 587); ssl: TLS from the start "
                   "(port 465)"),
        Field("user", default="", help="login for SMTP AUTH; empty: no login"),
        Field("password", default="", secret=True),
        Field("from_address", default="", help="the sender, e.g. Billing <billing@isp.example>"),
        Field("timeout", "decimal", default=30, min=Decimal("0.1"), max=600,
              help="seconds one message may take (connect, send) before it is retried"),
    ),
    "security": (  # the admin's logins and sessions (admin.throttle, admin.sessions)
        Field("session_idle_minutes", "int", default=120, min=1, max=10080,
              help="an admin session unused this long ends; the manager logs in again"),
        Field("login_delay_after", "int", default=3, min=1, max=100,
              help="failed logins (per login or per address) before each further attempt "
                   "must wait: 1 s, then 2, 4, 8… up to 60 s (or lockout_seconds)"),
        Field("login_lockout_after", "int", default=10, min=1, max=1000,
              help="failed logins for one login before it is locked out"),
        Field("address_lockout_after", "int", default=30, min=1, max=10000,
              help="failed logins from one client address before it is locked out"),
        Field("lockout_seconds", "int", default=900, min=1, max=86400,
              help="how long a lockout lasts (an administrator can unlock sooner)"),
        Field("totp_for_administrators", "bool", default=False,
              help="an administrator must log in with a one-time code (TOTP) as well"),
    ),
    "cabinet": (  # the subscriber's cabinet at /my/ (admin.cabinet, core.services.cabinet)
        Field("session_idle_minutes", "int", default=30, min=1, max=10080,
              help="a cabinet session unused this long ends; the subscriber logs in again"),
        Field("block_min_days", "int", default=7, min=1, max=366,
              help="a voluntary block taken in the cabinet lasts at least this many days: "
                   "a dated one is refused shorter, an indefinite one is lifted from the "
                   "cabinet only after them"),
        Field("blocks_per_month", "int", default=2, min=0, max=31,
              help="voluntary blocks a subscriber may switch on in the cabinet within 30 "
                   "days (0: not from the cabinet)"),
        Field("reset_channels", "list", default=["email"],
              help="the channels a password-reset code is sent by, tried in order: email "
                   "is built in, a plugin adds its own (sms)"),
    ),
    "helpdesk": (  # subscribers' requests and connection requests (core.helpdesk)
        Field("categories", "list", default=["internet", "tv", "payments", "other"],
              help="the categories a request is filed under (a connection request's is "
                   "always 'connection')"),
        Field("max_attachment_kb", "int", default=2048, min=1, max=20480,
              help="the largest file attached to a request, in KiB"),
        Field("allowed_types", "list",
              default=["image/png", "image/jpeg", "image/gif", "application/pdf",
                       "text/plain"],
              help="the types of attached files accepted, as sniffed from their bytes "
                   "(png, jpeg, gif, pdf, text/plain)"),
        Field("requests_per_hour", "int", default=3, min=1, max=1000,
              help="connection requests the public form takes from one client address "
                   "within an hour"),
    ),
    "scheduler": (
        Field("enabled", "bool", default=True),
        Field("billing_time", "time", default="00:05", help="the daily billing run"),
        Field("cdr_every_minutes", "int", default=1, min=1, help="how often spools are read"),
        Field("invoice_day", "int", default=1, min=1, max=28,
              help="day of the month the previous month is invoiced"),
        Field("invoice_time", "time", default="02:00"),
        Field("catch_up_seconds", "int", default=3600, min=1,
              help="a slot that fell due while no scheduler led (a takeover, a restart) "
                   "runs once when one leads again, if at most this late; older ones are "
                   "skipped (so is any run this late; 0 would skip runs a moment late)"),
        Field("refresh_seconds", "int", default=60, min=1,
              help="how often the leading scheduler asks the plugins for their jobs again, "
                   "so a job that appears (a NAS switched to synchronise) needs no restart"),
    ),
}


@dataclass(frozen=True)
class Settings:
    """Validated core settings plus the raw plugin sections (validated by the host)."""

    values: dict[str, dict[str, Any]]
    plugin_sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "defaults"
    #: `[payment_gateways.<name>]` sections, raw: validated against the protocol each
    #: names (core.gateways), which a plugin may provide
    gateway_sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        return self.values[name]

    @property
    def database_url(self) -> str:
        return self.values[""]["database_url"]

    @property
    def var_dir(self) -> Path:
        return Path(self.values[""]["var_dir"])

    @property
    def timezone(self) -> str:
        return self.values[""]["timezone"]

    @property
    def disabled_plugins(self) -> list[str]:
        return list(self.values["plugins"]["disabled"])

    def with_values(self, **top_level: Any) -> "Settings":
        """A copy with top-level keys replaced (tests point a runtime at their database)."""
        values = {name: dict(section) for name, section in self.values.items()}
        values[""].update(top_level)
        return Settings(values, self.plugin_sections, self.source, self.gateway_sections)


def load_settings(path: str | os.PathLike | None = None,
                  env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    path = path or env.get("ABONENT_CONFIG")
    data: dict[str, Any] = {}
    source = "defaults"
    if path:
        file = Path(path)
        if not file.is_file():
            raise ConfigError("--config", f"{file} does not exist")
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(str(file), f"not valid TOML: {exc}") from None
        source = str(file)
    _apply_env(data, env)
    return validate_settings(data, source)


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, value in env.items():
        if (not name.startswith(ENV_PREFIX) or name in ENV_RESERVED
                or name.startswith(ENV_IGNORED_PREFIXES)):
            continue
        keys = name[len(ENV_PREFIX):].lower().split("__")
        target = data
        for key in keys[:-1]:
            target = target.setdefault(key, {})
            if not isinstance(target, dict):
                raise ConfigError(".".join(keys), f"set by {name} but it is not a section")
        target[keys[-1]] = value


def _check_lease(outbox: dict[str, Any]) -> None:
    """A lease must outlive a missed heartbeat or two (a slow moment of the database),
    or a live worker would lose its deliveries to another one mid-call."""
    if outbox["heartbeat_seconds"] * 3 > outbox["lease_seconds"]:
        raise ConfigError("outbox.heartbeat_seconds",
                          f"must be at most a third of outbox.lease_seconds "
                          f"({outbox['lease_seconds']})")


def validate_settings(data: dict[str, Any], source: str) -> Settings:
    """Every key checked; every bad one reported at once (`ConfigError.problems`)."""
    values: dict[str, dict[str, Any]] = {}
    top = {k: v for k, v in data.items() if not isinstance(v, dict)}
    sections = {k: v for k, v in data.items() if isinstance(v, dict)}
    gateways = sections.pop(GATEWAYS, {})
    known = ", ".join([*(s for s in SCHEMA if s), GATEWAYS])
    problems = [ValidationError(name, f"unknown section; known: {known}")
                for name in sections if name not in SCHEMA]
    problems += [ValidationError(f"{GATEWAYS}.{name}", "must be a section "
                                 f"([{GATEWAYS}.{name}] with its keys)")
                 for name, section in gateways.items() if not isinstance(section, dict)]
    plugins = dict(sections.get("plugins", {}))
    plugin_sections = {k: v for k, v in plugins.items() if isinstance(v, dict)}
    sections["plugins"] = {k: v for k, v in plugins.items() if not isinstance(v, dict)}
    for name, fields in SCHEMA.items():
        given = top if name == "" else sections.get(name)
        values[name], found = field_problems(fields, given, prefix=f"{name}." if name else "")
        problems += found
    if problems:
        raise ConfigError.of(problems)
    _check_lease(values["outbox"])
    var_dir = Path(values[""]["var_dir"]).resolve()
    values[""]["var_dir"] = str(var_dir)
    if not values[""]["database_url"]:
        values[""]["database_url"] = f"sqlite:///{var_dir / 'abonent.db'}"
    return Settings(values, plugin_sections, source, gateways)
