"""How values look on the pages: money, times in the operator's time zone, states.

Times are stored as aware UTC and shown in the configured time zone (`timezone` in the
configuration, the operator's); amounts keep their two decimals and are grouped the way
the manager's language writes numbers.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from flask import current_app
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

STATE_TITLES = {"active": _l("active"), "balance": _l("blocked: balance"),
                "admin": _l("blocked by a manager"), "voluntary": _l("voluntary block"),
                "disabled": _l("switched off"), "trash": _l("in the trash")}
STATE_CLASSES = {"active": "success", "balance": "warning", "admin": "danger",
                 "voluntary": "info", "disabled": "dark", "trash": "secondary"}


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.extensions["abonent"].settings.timezone)


def money(value) -> str:
    if value is None:
        return ""
    return format_decimal(Decimal(value), format="#,##0.00", locale=str(get_locale() or "en"))


def unit_price(value) -> str:
    """A price per unit: two decimals at least, more when a counter is priced finer
    (0.0015 per MB stays 0.0015)."""
    if value is None:
        return ""
    return format_decimal(Decimal(value), format="#,##0.00########",
                          locale=str(get_locale() or "en"))


def localtime(value, with_seconds: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(zone()).strftime("%Y-%m-%d %H:%M:%S" if with_seconds
                                                 else "%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def state_badge(state: str) -> Markup:
    title = STATE_TITLES.get(state, state)
    return Markup('<span class="badge badge-{} state-{}">{}</span>').format(
        STATE_CLASSES.get(state, "light"), state, title)


#: a job run's status as a mark: an operator sees a red (failed) or amber (partial) run
RUN_CLASSES = {"ok": "success", "partial": "warning", "failed": "danger", "running": "info"}


def run_badge(status: str) -> Markup:
    return Markup('<span class="badge badge-{} run-{}">{}</span>').format(
        RUN_CLASSES.get(status, "light"), status, gettext(status))


def pretty_json(value) -> Markup:
    text = json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)
    return Markup("<pre class=\"json\">{}</pre>").format(escape(text))


def _short(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def changes_text(changes) -> Markup:
    """An audit entry's changes, one per line: "field: old → new" or "field: value"."""
    if not isinstance(changes, dict):
        return Markup("<span class=\"changes\">{}</span>").format(_short(changes))
    lines = []
    for key, value in sorted(changes.items()):
        if isinstance(value, dict) and set(value) == {"old", "new"}:
            lines.append(Markup("<b>{}</b>: {} → {}").format(key, _short(value["old"]),
                                                            _short(value["new"])))
        else:
            lines.append(Markup("<b>{}</b>: {}").format(key, _short(value)))
    return Markup("<div class=\"changes\">{}</div>").format(Markup("<br>").join(lines))


def signed_money(value) -> Markup:
    """An amount, red when negative (balances in lists)."""
    css = "balance-negative" if value is not None and value < 0 else ""
    return Markup('<span class="{}">{}</span>').format(css, money(value))


def init_formatting(app) -> None:
    app.jinja_env.filters.update(money=money, unit_price=unit_price, localtime=localtime,
                                 state_badge=state_badge, run_badge=run_badge,
                                 pretty_json=pretty_json, changes_text=changes_text,
                                 signed_money=signed_money)
