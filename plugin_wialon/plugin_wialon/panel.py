"""The account card's Wialon panel: the account's Wialon id and its last daily counts.

Read from the billing's own usage records, never from Wialon: the card opens as fast
with Wialon down, and shows what was charged, not what Wialon says now.
"""
from __future__ import annotations

from sqlalchemy import select

from core import Charge, Panel, UsageRecord, money_text, quantity_text
from plugin_wialon.agent import CODE, DEFAULT_SOURCE
from plugin_wialon.selection import PCS

SHOWN_DAYS = 10


def account_panel(session, account) -> Panel | None:
    if account.agent.type != CODE:
        return None
    source = (account.agent.settings or {}).get("cdr_source") or DEFAULT_SOURCE
    counts = session.execute(
        select(UsageRecord.day, UsageRecord.value, UsageRecord.state, UsageRecord.reason,
               Charge.amount)
        .outerjoin(Charge, Charge.id == UsageRecord.charge_id)
        .where(UsageRecord.account_id == account.id, UsageRecord.source == source,
               UsageRecord.unit_id == PCS)
        .order_by(UsageRecord.day.desc(), UsageRecord.id.desc()).limit(SHOWN_DAYS)).all()
    rows = [
        [day.isoformat(), quantity_text(value),
         money_text(amount) if amount is not None else "", reason or state]
        for day, value, state, reason, amount in counts]
    ext_id = account.ext_id or "not set: the account's objects are not counted"
    return Panel(title="Wialon", rows=[("Wialon account id", ext_id), ("CDR source", source)],
                 tables=[("Objects counted per day", ["Day", "Objects", "Charged", "State"],
                          rows)])
