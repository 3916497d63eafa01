"""The RADIUS server's view of the billing: every NAS agent, and the live accounts of each
with their state, held in memory and refreshed while serving.

Why a copy: an Access-Request is answered in tens of microseconds from memory, against a
millisecond or more for the two queries it would cost (the account, its open blocks) —
the difference between keeping up with a NAS's burst of logins after a reboot and not.
The price is a bounded delay: a change in the billing reaches the answers within
`refresh` seconds (one by default). A block is announced to the NAS by its own CoA
command (user_drop) through the outbox in about the same time, so a session that slipped
in just before is corrected all the same.

A refresh reads the NAS agents, the accounts of NAS agents written since the last
refresh (by `updated_at`, with a `margin` for transactions that committed after a later
one; a trashed or moved account is written too), and the open blocks of all NAS
accounts (their states: a block that starts or ends by the clock counts from then).
Every `full_every` seconds it reads all accounts again, which also drops what a margin
could have missed.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from core import Account, Agent, Block, effective_state, is_open, now
from plugin_nas_oss.agent import CODE, NasSettings

log = logging.getLogger("abonent.nas_oss.radius")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Entry:
    """What an answer needs of an account."""

    id: int
    agent_id: int
    login: str
    fields: dict


class Directory:
    def __init__(self, runtime, refresh: float = 1.0, margin: float = 5.0,
                 full_every: float = 60.0, actor: str = "plugin:nas_oss"):
        self.runtime, self.refresh, self.actor = runtime, refresh, actor
        self.margin, self.full_every = timedelta(seconds=margin), full_every
        self.nases: dict[str, NasSettings] = {}  # by address
        self.entries: dict[int, Entry] = {}
        self.states: dict[int, str] = {}  # account id -> a blocked state (active: absent)
        self._by_login: dict[tuple[int, str], Entry] = {}
        self._by_field: dict[tuple[int, str, str], Entry] = {}
        self._since = EPOCH
        self._read_at = self._full_at = float("-inf")
        self.version = 0  # one more at every read: what was derived from a read is stale
        #: Held to refresh and to look up: the server's reading thread and its accounting
        #: writer both answer from here, and a refresh rebuilds the maps in place.
        self.lock = threading.RLock()

    # --- reading --------------------------------------------------------------------------

    def fresh(self) -> "Directory":
        """Refreshed when `refresh` seconds have passed since the last read."""
        with self.lock:
            if time.monotonic() - self._read_at >= self.refresh:
                self.read()
        return self

    def read(self, full: bool | None = None) -> None:
        full = time.monotonic() - self._full_at >= self.full_every if full is None else full
        started = now()
        with self.runtime.session(actor=self.actor) as session:
            self.nases = self._nases(session)
            since = EPOCH if full else self._since - self.margin
            rows = session.execute(
                select(Account.id, Account.agent_id, Account.login, Account.fields,
                       Account.trashed_at)
                .join(Agent, Agent.id == Account.agent_id)
                .where(Agent.type == CODE, Account.updated_at >= since)).all()
            sources: dict[int, set[str]] = {}
            for account_id, source in session.execute(
                    select(Block.account_id, Block.source)
                    .join(Account, Account.id == Block.account_id)
                    .join(Agent, Agent.id == Account.agent_id)
                    .where(Agent.type == CODE, is_open(started))):
                sources.setdefault(account_id, set()).add(source)
        if full:
            self.entries.clear()
        for account_id, agent_id, login, fields, trashed_at in rows:
            if trashed_at is None:
                self.entries[account_id] = Entry(account_id, agent_id, login, fields or {})
            else:
                self.entries.pop(account_id, None)
        self.states = {i: effective_state(s) for i, s in sources.items()}
        self._index()
        self._since = started
        self._read_at = time.monotonic()
        self.version += 1
        if full:
            self._full_at = self._read_at

    def _nases(self, session) -> dict[str, NasSettings]:
        found = {}
        for agent in session.scalars(select(Agent).where(Agent.type == CODE, Agent.enabled)):
            try:
                nas = NasSettings.of(agent.id, agent.settings)
            except Exception as exc:  # one NAS set up wrong must not silence the others
                log.warning("NAS agent %s ignored: %s", agent.id, exc)
                continue
            found[nas.address] = nas
        return found

    def _index(self) -> None:
        self._by_login = {(e.agent_id, e.login): e for e in self.entries.values()}
        self._by_field = {(e.agent_id, name, str(e.fields[name])): e
                          for e in self.entries.values() for name in ("ip", "mac")
                          if e.fields.get(name)}

    # --- looking up -----------------------------------------------------------------------

    def by_login(self, agent_id: int, login: str) -> Entry | None:
        return self._by_login.get((agent_id, login))

    def by_field(self, agent_id: int, name: str, value: str | None) -> Entry | None:
        return self._by_field.get((agent_id, name, value)) if value else None

    def state(self, account_id: int) -> str:
        return self.states.get(account_id, "active")
