"""Billing days are dates in the operator's time zone."""
from __future__ import annotations

from datetime import date

from core.clock import today
from core.models import Account


def local_today(account: Account) -> date:
    """Today in the time zone of the operator the account's contract belongs to."""
    return today(account.contract.operator.timezone)
