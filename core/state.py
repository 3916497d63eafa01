"""An account's effective state, derived from its open blocks (never stored twice).

Precedence, strongest first: disabled ("switched off" by a manager) > admin (blocked by
a manager) > balance (automatic, not enough money) > voluntary (the subscriber's own) >
active. The strongest open block names the state; trash is a separate flag.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.clock import now
from core.models import Block


class AccountState:
    """The effective states of an account, as plain strings (what events carry and the
    database stores): "active", or the source of the account's strongest open block."""

    ACTIVE = "active"
    DISABLED = "disabled"    # switched off by a manager
    ADMIN = "admin"          # blocked by a manager
    BALANCE = "balance"      # blocked by the billing: not enough money
    VOLUNTARY = "voluntary"  # paused at the subscriber's request
    #: the block sources (each names the state it causes), strongest first
    BLOCK_SOURCES = (DISABLED, ADMIN, BALANCE, VOLUNTARY)
    ALL = (ACTIVE, *BLOCK_SOURCES)


ACTIVE = AccountState.ACTIVE
PRECEDENCE = AccountState.BLOCK_SOURCES
#: The sources a manager sets and lifts; balance blocks are the billing's own.
MANUAL_SOURCES = (AccountState.ADMIN, AccountState.VOLUNTARY, AccountState.DISABLED)


def effective_state(sources: Iterable[str]) -> str:
    """The state named by the strongest of the given open block sources."""
    present = set(sources)
    for source in PRECEDENCE:
        if source in present:
            return source
    return ACTIVE


def is_open(at: datetime):
    """SQL condition: a block is open at `at`."""
    return and_(Block.lifted_at.is_(None), Block.start_at <= at,
                or_(Block.end_at.is_(None), Block.end_at > at))


def open_blocks(session: Session, account_id: int, at: datetime | None = None) -> list[Block]:
    at = at or now()
    query = select(Block).where(Block.account_id == account_id, is_open(at)).order_by(Block.id)
    return list(session.scalars(query))


def account_state(session: Session, account_id: int, at: datetime | None = None
                  ) -> str:
    return effective_state(block.source for block in open_blocks(session, account_id, at))


def states_of(session: Session, account_ids: Iterable[int], at: datetime | None = None
              ) -> dict[int, str]:
    """Effective states of many accounts in one query (lists, dashboards)."""
    ids = list(account_ids)
    found: dict[int, set[str]] = {i: set() for i in ids}
    if ids:
        query = select(Block.account_id, Block.source).where(
            Block.account_id.in_(ids), is_open(at or now()))
        for account_id, source in session.execute(query):
            found[account_id].add(source)
    return {i: effective_state(sources) for i, sources in found.items()}
