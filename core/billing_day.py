"""A billing day, in order: planned tariff changes, expiries, dated blocks, the day's
charges and instalment parts, promised payments past their last day, then balance
blocks. The scheduler runs it daily and `abonent charge run` runs it by hand; a dry run is the same work in a transaction that is rolled back."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import blocking
from core.charging import charge_day
from core.models import Block
from core.services import dates
from core.services.accounts import apply_due_tariff_changes
from core.services.instalments import charge_instalments
from core.services.promises import expire_promises
from core.services.subscriptions import expire_due
from core.state import AccountState


@dataclass
class DaySummary:
    """What a run for one day did (or, in a dry run, would do)."""

    day: date
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocked: list[int] = field(default_factory=list)
    lifted: int = 0
    expired: int = 0
    tariff_changes: int = 0
    blocks_started: int = 0
    blocks_ended: int = 0
    promises_expired: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(),
                "charges": {k: {"count": v["count"], "amount": str(v["amount"])}
                            for k, v in self.charges.items()},
                "blocked_accounts": len(self.blocked), "lifted": self.lifted,
                "expired": self.expired, "tariff_changes": self.tariff_changes,
                "blocks_started": self.blocks_started, "blocks_ended": self.blocks_ended,
                "promises_expired": self.promises_expired}


def _balance_blocked(session: Session) -> set[int]:
    return set(session.scalars(select(Block.account_id).where(
        Block.source == AccountState.BALANCE, Block.lifted_at.is_(None))))


def run_day(session: Session, day: date) -> DaySummary:
    """Run billing day `day`, at most `[billing] charge_days_ahead` after today (a
    ValidationError naming `day` otherwise, before anything is written)."""
    summary = DaySummary(dates.charge_day(session, day))
    summary.tariff_changes = apply_due_tariff_changes(session, day)
    summary.expired = expire_due(session, day)
    due = blocking.apply_due(session)
    summary.blocks_started, summary.blocks_ended = due["started"], due["ended"]
    summary.charges = charge_day(session, day)
    parts = charge_instalments(session, day)
    if parts["count"]:
        summary.charges["instalment"] = parts
    summary.promises_expired = expire_promises(session, day)
    before = _balance_blocked(session)
    summary.lifted = blocking.check_balances(session)["lifted"]
    summary.blocked = sorted(_balance_blocked(session) - before)
    return summary
