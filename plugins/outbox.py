"""Delivering the outbox: each pending delivery goes to its plugin's notification hook.

Guarantees (DESIGN.md): at least once; one delivery per (event, plugin); in order per
(plugin, contract) — a delivery is claimed only when no earlier delivery of the same
(plugin, contract) is still pending, so a failing one holds back the later ones of its
contract (its accounts' events and its own, such as payments) while other contracts flow;
exponential back-off with jitter; `RetryLater` (not counted as a failure, but dead once
the event is older than `outbox.retry_later_max_seconds`); dead letter after `outbox.max_attempts` failed attempts, or at once when the plugin raises `Rejected` (a dead
letter no longer holds the queue back: the plugin's reconcile repairs what it missed);
retry by hand.

A worker claims a batch by writing a lease (`locked_until`) in a short transaction
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers share the queue), calls the
plugins outside any transaction, then records the outcomes. A batch holds at most one
delivery per (plugin, contract) (only the head of each is claimable), so its items are
independent: each plugin has a lane, a pool of `[plugins.<name>] concurrency` threads
(optionally paced to `rate_limit` calls a second) that delivers them at once. A running
worker streams: it claims for a plugin only while that plugin's lane has room, so a
platform that hangs fills its own lane — holding back at most that many of its contracts —
while every other plugin's deliveries flow. Leases are short
(`outbox.lease_seconds`) and a heartbeat renews them every `outbox.heartbeat_seconds`
while the worker lives, however slow a plugin is: a worker killed mid-batch loses nothing
and holds its contracts back only until its leases run out, seconds later, when another
worker takes those deliveries again (a re-send carries the same idempotency key).

A database that goes away does not end a worker: it keeps the outcomes it could not write,
stops delivering once it can no longer vouch for its leases, waits with back-off (one log
line per outage) and writes them first when the database is back.
"""
from __future__ import annotations

import functools
import logging
import os
import random
import socket
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (ARRAY, BigInteger, Integer, and_, any_, bindparam, cast, exists,
                        func, or_, select, update)
from sqlalchemy.orm import Session

from core.clock import now
from core.db import Reconnect, unavailable
from core.errors import Rejected, RetryLater
from core.events import Event
from core.links import LinkWrite, set_links
from core.models import Delivery, OutboxEvent
from core.runtime import Runtime
from core.sqlfuncs import among, inline_ids
from plugins.host import delivery_settings

log = logging.getLogger("abonent.outbox")


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    plugin: str
    attempts: int
    event: Event


class Outbox:
    """One worker's view of the queue."""

    def __init__(self, runtime: Runtime, worker_id: str | None = None):
        self.runtime = runtime
        self.config = runtime.settings.section("outbox")
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.plugins = sorted({plugin for listeners in runtime.listeners.values()
                               for plugin, _ in listeners})
        self._reads_facts = {impl.plugin_name
                             for impl in runtime.pm.impls("abonent_delivery_facts")}
        #: outcomes delivered but not yet written (kept across an outage of the database)
        self._unwritten: list[tuple[Claimed, str, Any]] = []
        self._lanes: dict[str, Lane] = {}
        #: guards the lanes' bookkeeping and the outcomes the lanes' threads hand over
        self._arrived = threading.Condition()
        self._arrivals: list[tuple[Claimed, str, Any]] = []
        self._wake = False  # a lane wants more: time to write and claim more
        #: plugin -> when (time.monotonic) to ask again for the deliveries due to it
        self._quiet_until: dict[str, float] = {}

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.config["lease_seconds"])

    # --- claiming -----------------------------------------------------------------------

    def claim(self, limit: int | None = None, plugins: list[str] | None = None
              ) -> list[Claimed]:
        """Lease up to `limit` deliveries that are due and first in their (plugin, contract),
        for `plugins` (default: every plugin that listens)."""
        limit = limit or self.config["batch_size"]
        plugins = self.plugins if plugins is None else plugins
        if not plugins:
            return []
        try:
            return self._claim(limit, plugins, with_facts=True)
        except _FactsFailed:  # the claim was rolled back with it: claimed again without
            return self._claim(limit, plugins, with_facts=False)

    def _claim(self, limit: int, plugins: list[str], with_facts: bool) -> list[Claimed]:
        with self.runtime.session(actor="outbox") as session:
            connection = session.connection()
            statements = _statements(connection.dialect.name)
            at = now()
            parameters = {"at": at, "plugins": plugins, "limit": limit,
                          "until": at + self.lease, "worker": self.worker_id}
            if statements.claim_with_events is not None:  # one round trip
                rows = connection.execute(statements.claim_with_events, parameters).all()
            else:
                leased = connection.execute(statements.claim, parameters).all()
                events = {row[0]: row for row in connection.execute(
                    statements.events, {"events": [row.event_id for row in leased]})
                          } if leased else {}
                rows = [(*lease, *events[lease.event_id]) for lease in leased]
            claimed = [Claimed(delivery_id, plugin, attempts, Event(
                id=event_id, name=name, account_id=account_id, contract_id=contract_id,
                payload=payload, created_at=created_at,
                idempotency_key=f"{event_id}:{plugin}", attempt=attempts))
                for delivery_id, plugin, attempts, _, event_id, name, account_id, contract_id,
                payload, created_at in sorted(rows)]
            return self._with_facts(session, claimed) if with_facts and claimed else claimed

    def _with_facts(self, session: Session, claimed: list[Claimed]) -> list[Claimed]:
        """The claimed items, their events carrying what their plugins'
        `abonent_delivery_facts` read for them (in the claim's transaction: one read for
        the batch instead of a transaction a delivery)."""
        by_plugin: dict[str, list[Event]] = {}
        for item in claimed:
            if item.plugin in self._reads_facts:
                by_plugin.setdefault(item.plugin, []).append(item.event)
        if not by_plugin:
            return claimed
        facts = {plugin: self._read_facts(session, plugin, events)
                 for plugin, events in by_plugin.items()}
        return [replace(item, event=replace(item.event, facts=facts[item.plugin].get(
                    item.event.id))) if item.plugin in facts else item for item in claimed]

    def _read_facts(self, session: Session, plugin: str, events: list[Event]) -> dict:
        """One plugin's facts for its events. No savepoint (two round trips a claim): a
        hook that fails raises `_FactsFailed`, the claim's transaction is rolled back, and
        `claim` leases again without facts, so the deliveries read for themselves."""
        try:
            return self.runtime.pm.call_one("abonent_delivery_facts", plugin,
                                            session=session, events=events) or {}
        except Exception as exc:
            if unavailable(exc):
                raise
            log.exception("outbox: %s's abonent_delivery_facts failed", plugin)
            raise _FactsFailed(plugin) from exc

    # --- delivering ---------------------------------------------------------------------

    def deliver(self, item: Claimed) -> tuple[str, Any]:
        """Call the plugin; returns ("done", the writes it left to the record — see
        `PluginContext.write` — or None), ("retry", RetryLater), ("reject", text) or
        ("fail", text). A plugin that fails because our database is away is retried
        later without losing an attempt: the outage is not the delivery's fault."""
        ctx = self.runtime.context(item.plugin, deferred=[])
        try:
            self.runtime.pm.call_one(f"abonent_{item.event.name}", item.plugin, event=item.event,
                                     ctx=ctx)
        except RetryLater as exc:
            return "retry", exc
        except Rejected as exc:
            return "reject", f"rejected: {exc.reason}"[:2000]
        except Exception as exc:  # a plugin's failure is recorded, never fatal to the worker
            if unavailable(exc):
                return "retry", RetryLater("the billing database was unavailable")
            log.warning("delivery %s of %s to %s failed: %s", item.delivery_id, item.event.name,
                        item.plugin, exc)
            return "fail", f"{type(exc).__name__}: {exc}"[:2000]
        return "done", ctx.deferred or None

    def backoff(self, attempts: int) -> timedelta:
        """Exponential back-off with jitter: base·2^(n−1), capped, times 0.5–1.0."""
        base = float(self.config["backoff_base"])
        ceiling = float(self.config["backoff_max"])
        delay = min(ceiling, base * 2 ** max(0, attempts - 1))
        return timedelta(seconds=delay * random.uniform(0.5, 1.0))

    def patience(self, age: timedelta) -> timedelta:
        """The wait after a `RetryLater` without its own delay: a quarter of the event's
        age, between `backoff_base` and `backoff_max`, times 0.5–1.0. Its attempts are not
        counted, so the back-off grows with how long the platform has been away instead:
        seconds in the first minute, an hour at most once it has been gone for hours."""
        base = float(self.config["backoff_base"])
        ceiling = float(self.config["backoff_max"])
        delay = min(ceiling, max(base, age.total_seconds() / 4))
        return timedelta(seconds=delay * random.uniform(0.5, 1.0))

    def record(self, outcomes: list[tuple[Claimed, str, Any]]) -> None:
        """Write the outcomes of delivered items in one transaction, with the writes the
        plugins left to it (a delivery whose writes fail is a failed attempt instead)."""
        if not outcomes:
            return
        try:
            self._record(outcomes, one_by_one=False)
        except _WritesFailed:  # rolled back whole: again, each delivery's writes on its own
            self._record(outcomes, one_by_one=True)

    def _record(self, outcomes: list[tuple[Claimed, str, Any]], one_by_one: bool) -> None:
        with self.runtime.session(actor="outbox") as session:
            at = now()
            if one_by_one:
                outcomes = [self._written(session, outcome) for outcome in outcomes]
            else:
                self._write_deferred(session, outcomes)
            done = [item.delivery_id for item, status, _ in outcomes if status == "done"]
            if done:
                connection = session.connection()
                connection.execute(_statements(connection.dialect.name).done,
                                   {"done": done, "at": at})
            for item, status, detail in outcomes:
                if status == "retry":
                    self._retry_later(session, item, detail, at)
                elif status in ("fail", "reject"):
                    self._failed(session, item, detail, at, dead=status == "reject")

    @staticmethod
    def _write_deferred(session: Session, outcomes: list[tuple[Claimed, str, Any]]) -> None:
        """Make the writes the done deliveries left to the record, all at once and without
        a savepoint (two round trips a batch); if one fails, `_WritesFailed` rolls the
        record back, to be made again one delivery at a time (`_written`)."""
        writes = [change for _, status, changes in outcomes if status == "done" and changes
                  for change in changes]
        if not writes:
            return
        try:
            _make(session, writes)
        except Exception as exc:
            if unavailable(exc):
                raise
            raise _WritesFailed() from exc

    @staticmethod
    def _written(session: Session, outcome: tuple[Claimed, str, Any]
                 ) -> tuple[Claimed, str, Any]:
        """A done delivery's deferred writes, made under a savepoint: the outcome as it
        stands, or "fail" with the error (an outage of the database fails the record)."""
        item, status, writes = outcome
        if status != "done" or not writes:
            return outcome
        try:
            with session.begin_nested():
                _make(session, writes)
        except Exception as exc:
            if unavailable(exc):
                raise
            log.warning("delivery %s of %s to %s: its writes failed: %s", item.delivery_id,
                        item.event.name, item.plugin, exc)
            return item, "fail", f"writing after the call: {type(exc).__name__}: {exc}"[:2000]
        return outcome

    def _retry_later(self, session: Session, item: Claimed, exc: RetryLater, at: datetime):
        ceiling = self.config["retry_later_max_seconds"]
        if at - item.event.created_at >= timedelta(seconds=ceiling):
            self._failed(session, item, f"retry later for more than {ceiling} s since the "
                                        f"event (outbox.retry_later_max_seconds): {exc.reason}"
                         [:2000], at, dead=True)
            return
        wait = exc.after if exc.after is not None else self.patience(at - item.event.created_at)
        session.execute(update(Delivery).where(self._mine(item)).values(
            attempts=Delivery.attempts - 1, next_attempt_at=at + wait, locked_until=None,
            last_error=f"retry later: {exc.reason}"[:2000]))

    def _failed(self, session: Session, item: Claimed, error: str, at: datetime,
                dead: bool = False):
        dead = dead or item.attempts >= self.config["max_attempts"]
        values: dict[str, Any] = {"locked_until": None, "last_error": error}
        if dead:
            values["state"] = "dead"
        else:
            values["next_attempt_at"] = at + self.backoff(item.attempts)
        session.execute(update(Delivery).where(self._mine(item)).values(**values))

    def _mine(self, item: Claimed):
        """The delivery, if this worker still holds its lease (it may have run out)."""
        return and_(Delivery.id == item.delivery_id, Delivery.locked_by == self.worker_id,
                    Delivery.state == "pending")

    def flush(self) -> None:
        """Write the outcomes kept so far; on failure they stay kept for the next flush
        (writing them twice is harmless: each update is conditional on the lease)."""
        self._collect(0)
        outcomes, self._unwritten = self._unwritten, []
        try:
            self.record(outcomes)
        except Exception:
            self._unwritten = outcomes + self._unwritten
            raise

    @staticmethod
    def _if_up(action, *args) -> None:
        """`action` now if the database answers; if it is away, an unwritten outcome waits
        for the next flush and an unreleased lease runs out by itself."""
        try:
            action(*args)
        except Exception as exc:
            if not unavailable(exc):
                raise

    def renew(self, held: list[int]) -> None:
        """Extend the leases of the deliveries this worker holds (the heartbeat)."""
        if not held:
            return
        with self.runtime.session(actor="outbox") as session:
            session.execute(update(Delivery).where(
                Delivery.id.in_(inline_ids("batch")), Delivery.locked_by == self.worker_id,
                Delivery.state == "pending", Delivery.locked_until.is_not(None)
            ).values(locked_until=now() + self.lease),
                {"batch": held},
                execution_options={"synchronize_session": False})

    def release(self, items: list[Claimed]) -> None:
        """Give back leased deliveries this worker will not get to (no attempt counted)."""
        if not items:
            return
        with self.runtime.session(actor="outbox") as session:
            session.execute(update(Delivery).where(
                Delivery.id.in_([i.delivery_id for i in items]), Delivery.locked_by == self.worker_id
            ).values(locked_until=None, attempts=Delivery.attempts - 1))

    # --- lanes --------------------------------------------------------------------------

    def lane(self, plugin: str) -> "Lane":
        if plugin not in self._lanes:
            self._lanes[plugin] = Lane(self, plugin, **delivery_settings(self.runtime.settings,
                                                                        plugin))
        return self._lanes[plugin]

    def _dispatch(self, items: list[Claimed]) -> None:
        by_plugin: dict[str, list[Claimed]] = {}
        for item in items:
            by_plugin.setdefault(item.plugin, []).append(item)
        for plugin, its_items in by_plugin.items():
            self.lane(plugin).submit(its_items)

    def _arrive(self, lane: "Lane", item: Claimed, outcome: tuple[str, Any]) -> None:
        """A lane's thread hands over an outcome (called in that thread); the worker's
        loop is woken when the lane is half empty (time to claim more for it)."""
        with self._arrived:
            lane.outstanding.pop(item.delivery_id, None)
            self._arrivals.append((item, *outcome))
            if lane.wants_more():
                self._wake = True
                self._arrived.notify_all()

    def _collect(self, timeout: float) -> int:
        """Move the outcomes the lanes handed over to the unwritten ones, first waiting
        up to `timeout` seconds for a lane to be half empty; returns how many came."""
        with self._arrived:
            if timeout:
                self._arrived.wait_for(lambda: self._wake, timeout)
            arrived, self._arrivals, self._wake = self._arrivals, [], False
        self._unwritten.extend(arrived)
        return len(arrived)

    def _outstanding(self) -> int:
        with self._arrived:
            return sum(len(lane.outstanding) for lane in self._lanes.values())

    def _held(self) -> list[int]:
        """Deliveries whose leases this worker keeps: queued, in a call, or not written."""
        with self._arrived:
            ids = [i for lane in self._lanes.values() for i in lane.outstanding]
            ids += [item.delivery_id for item, _, _ in self._arrivals]
        return ids + [item.delivery_id for item, _, _ in self._unwritten]

    def _give_back(self) -> int:
        """The leases may be gone: release what no lane has started yet; returns how many
        (the calls under way finish, and their outcomes are written if still ours)."""
        with self._arrived:
            withdrawn = [item for lane in self._lanes.values() for item in lane.withdraw()]
        self._if_up(self.flush)
        self._if_up(self.release, withdrawn)
        return len(withdrawn)

    # --- running ------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch and deliver it through the lanes; returns how many deliveries
        were attempted.

        Outcomes are written at the end of the batch, or every second under a slow plugin
        (so a later event of the same contract is not held back long). While the heartbeat
        cannot renew the leases (the database is away), delivering stops before they
        could run out: past that point another worker may already be sending the rest.
        """
        self.flush()  # what an outage kept back goes first
        batch = self.claim()
        if not batch:
            return 0
        last_flush = time.monotonic()
        with Heartbeat(self) as heartbeat:
            self._dispatch(batch)
            while self._outstanding():
                self._collect(0.1)
                if not heartbeat.holds():
                    return len(batch) - self._give_back()
                if time.monotonic() - last_flush > 1:
                    self._if_up(self.flush)
                    last_flush = time.monotonic()
        self.flush()
        return len(batch)

    def drain(self, max_rounds: int = 10_000) -> int:
        """Deliver until nothing is due (tests, `abonent events drain`); returns the count."""
        total = 0
        for _ in range(max_rounds):
            count = self.run_once()
            if not count:
                return total
            total += count
        return total

    def stream(self, heartbeat: "Heartbeat") -> int:
        """One step of a running worker: write what was delivered, then claim for each
        plugin whose lane wants more (at most three times its concurrency queued or in a
        call, so a hanging platform holds back only that many of its contracts, and no
        other plugin's); returns how many deliveries are under way.

        A plugin that had nothing due is asked again only after `outbox.poll_interval`,
        as an idle worker would ask it, not at every step of a busy worker (each ask is a
        transaction: the busy plugin's deliveries would pay for the idle ones' polls)."""
        self.flush()
        if not heartbeat.holds():
            self._give_back()
            return 0
        clock = time.monotonic()
        for plugin in self.plugins:
            if self._quiet_until.get(plugin, 0.0) > clock:
                continue
            lane = self.lane(plugin)
            with self._arrived:
                room = lane.capacity - len(lane.outstanding) if lane.wants_more() else 0
            if room:
                claimed = self.claim(room, [plugin])
                if not claimed:
                    self._quiet_until[plugin] = clock + float(self.config["poll_interval"])
                self._dispatch(claimed)
        under_way = self._outstanding()
        if under_way:
            self._collect(0.2)
        return under_way

    def run_forever(self, stop: threading.Event) -> None:
        """Deliver until `stop` is set, waiting out outages of the database."""
        interval = float(self.config["poll_interval"])
        reconnect = Reconnect(log, f"outbox worker {self.worker_id}")
        log.info("outbox worker %s started for plugins %s", self.worker_id, self.plugins)
        with Heartbeat(self) as heartbeat:
            while not stop.is_set():
                try:
                    busy = self.stream(heartbeat)
                except Exception as exc:
                    if unavailable(exc):
                        stop.wait(reconnect.failed(exc))
                        continue
                    log.exception("outbox worker %s: batch failed", self.worker_id)
                    busy = 0
                else:
                    reconnect.succeeded()
                if not busy:
                    stop.wait(interval)
            self._give_back()
            # the calls under way finish (within a lease) and their outcomes are written,
            # rather than sent again by another worker once the leases run out
            deadline = time.monotonic() + self.lease.total_seconds() * 0.8
            while self._outstanding() and time.monotonic() < deadline:
                self._collect(0.1)
            self._if_up(self.flush)


class _Statements:
    """The statements a worker runs for every batch, built once per dialect: building
    them (an aliased table, a dozen comparisons) cost more than running them."""

    def __init__(self, dialect: str):
        table, event = Delivery.__table__, OutboxEvent.__table__
        earlier = table.alias("earlier")
        at = bindparam("at")
        blocked = exists().where(
            earlier.c.plugin == table.c.plugin, earlier.c.contract_id == table.c.contract_id,
            earlier.c.state == "pending", earlier.c.id < table.c.id)
        due = (select(table.c.id).where(
            table.c.state == "pending", table.c.next_attempt_at <= at,
            or_(table.c.locked_until.is_(None), table.c.locked_until < at),
            table.c.plugin.in_(bindparam("plugins", expanding=True)), ~blocked)
            .order_by(table.c.id).limit(bindparam("limit", type_=Integer))
            .with_for_update(skip_locked=True))
        if dialect == "postgresql":
            # one array, computed once, then primary-key look-ups: `IN (subquery)` would be
            # planned as a hash semi-join over the whole table
            due = select(func.array_agg(due.subquery().c.id)).scalar_subquery()
            chosen = table.c.id == any_(cast(due, ARRAY(BigInteger)))
        else:
            chosen = table.c.id.in_(due.scalar_subquery())
        self.claim = (update(table).where(chosen).values(
            locked_until=bindparam("until"), locked_by=bindparam("worker"),
            attempts=table.c.attempts + 1)
            .returning(table.c.id, table.c.plugin, table.c.attempts, table.c.event_id))
        columns = (event.c.id, event.c.name, event.c.account_id, event.c.contract_id,
                   event.c.payload, event.c.created_at)
        self.events = select(*columns).where(among(dialect, event.c.id, "events"))
        #: on PostgreSQL the claim's UPDATE … RETURNING joined to its events, as one
        #: statement (a data-modifying CTE); SQLite has no such CTE: two statements there
        self.claim_with_events = None
        if dialect == "postgresql":
            leased = self.claim.cte("leased")
            self.claim_with_events = select(*leased.c, *columns).join_from(
                leased, event, event.c.id == leased.c.event_id)
        self.done = update(table).where(
            among(dialect, table.c.id, "done"), table.c.state == "pending"
        ).values(state="done", delivered_at=at, locked_until=None, last_error=None)


class _FactsFailed(Exception):
    """A plugin's `abonent_delivery_facts` failed: the claim is made again without facts."""


class _WritesFailed(Exception):
    """A batch's deferred writes failed together: the record is made one delivery at a time."""


def _make(session: Session, changes: list) -> None:
    """Make deferred writes in order, each run of links (`LinkWrite`) as one statement."""
    links: list[LinkWrite] = []
    for change in changes:
        if isinstance(change, LinkWrite):
            links.append(change)
            continue
        if links:
            set_links(session, links)
            links = []
        change(session)
    if links:
        set_links(session, links)


@functools.cache
def _statements(dialect: str) -> _Statements:
    return _Statements(dialect)


class Lane:
    """One plugin's deliveries in one worker: up to `concurrency` runners on a pool kept
    while the worker lives (so a plugin's per-thread HTTP session stays alive between
    calls), each taking the next queued delivery until none is left, paced to
    `rate_limit` calls a second when the platform throttles. Its bookkeeping is guarded
    by the outbox's `_arrived` condition."""

    def __init__(self, outbox: Outbox, plugin: str, concurrency: int,
                 rate_limit: Any = None):
        self.outbox, self.plugin, self.concurrency = outbox, plugin, concurrency
        #: queued or in a call at most: its runners busy, and as many again queued twice
        #: over, so while the worker writes outcomes and claims more (a transaction or two)
        #: the runners still find work (with only one round queued they ran dry then)
        self.capacity = max(1, min(3 * concurrency, int(outbox.config["batch_size"])))
        self.spacing = 1 / float(rate_limit) if rate_limit else 0.0
        self._next_call = 0.0
        self._pace_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix=f"outbox-{plugin}")
        self._queue: deque[Claimed] = deque()
        self._runners = 0
        #: delivery id -> item, while queued or in a call
        self.outstanding: dict[int, Claimed] = {}

    def submit(self, items: list[Claimed]) -> None:
        with self.outbox._arrived:
            for item in items:
                self.outstanding[item.delivery_id] = item
            self._queue.extend(items)
            for _ in range(min(self.concurrency - self._runners, len(self._queue))):
                self._runners += 1
                self._pool.submit(self._run)

    def wants_more(self) -> bool:
        """Is a third of the lane free, worth a claim? (The caller holds outbox._arrived.)"""
        return len(self.outstanding) * 3 <= 2 * self.capacity

    def withdraw(self) -> list[Claimed]:
        """Take back the items no runner has started (the caller holds outbox._arrived)."""
        withdrawn = list(self._queue)
        self._queue.clear()
        for item in withdrawn:
            del self.outstanding[item.delivery_id]
        return withdrawn

    def _run(self) -> None:
        while True:
            with self.outbox._arrived:
                if not self._queue:
                    self._runners -= 1
                    return
                item = self._queue.popleft()
            self._pace()
            self.outbox._arrive(self, item, self.outbox.deliver(item))

    def _pace(self) -> None:
        """Space the calls `1 / rate_limit` seconds apart across the lane's threads."""
        if not self.spacing:
            return
        with self._pace_lock:
            at = max(time.monotonic(), self._next_call)
            self._next_call = at + self.spacing
        time.sleep(max(0.0, at - time.monotonic()))


class Heartbeat:
    """Renews the leases of the deliveries its worker holds every
    `outbox.heartbeat_seconds` from a thread of its own, so a plugin call of any length
    keeps them while the worker lives, and a dead worker's run out within
    `outbox.lease_seconds`."""

    def __init__(self, outbox: Outbox):
        self.outbox = outbox
        self.interval = float(outbox.config["heartbeat_seconds"])
        self.renewed = time.monotonic()  # the claim has just written the leases
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="outbox-heartbeat", daemon=True)

    def holds(self) -> bool:
        """Are the leases surely still ours? (Renewed less than 0.8 of a lease ago.)"""
        return time.monotonic() - self.renewed < self.outbox.lease.total_seconds() * 0.8

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            started = time.monotonic()
            try:
                self.outbox.renew(self.outbox._held())
            except Exception as exc:
                if not unavailable(exc):
                    log.exception("outbox worker %s: renewing leases failed",
                                  self.outbox.worker_id)
                continue  # the worker's loop reports the outage
            self.renewed = started

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


# --- operations pages and CLI ---------------------------------------------------------------

def list_deliveries(session: Session, *, state: str | None = None, plugin: str | None = None,
                    account_id: int | None = None, failing: bool = False, limit: int = 50,
                    offset: int = 0) -> list[tuple[Delivery, OutboxEvent]]:
    """Deliveries newest first; `failing` = pending with at least one failed attempt."""
    query = select(Delivery, OutboxEvent).join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
    if state:
        query = query.where(Delivery.state == state)
    if failing:
        query = query.where(Delivery.state == "pending", Delivery.last_error.is_not(None))
    if plugin:
        query = query.where(Delivery.plugin == plugin)
    if account_id is not None:
        query = query.where(Delivery.account_id == account_id)
    return list(session.execute(query.order_by(Delivery.id.desc()).limit(limit).offset(offset)))


#: the window of `counts`' delivery rate, in minutes
RATE_MINUTES = 5


def counts(session: Session) -> dict[tuple[str, str], int]:
    """Deliveries per (plugin, state), plus ("…", "failing") for pending with an error."""
    result = {(p, s): n for p, s, n in session.execute(
        select(Delivery.plugin, Delivery.state, func.count()).group_by(Delivery.plugin,
                                                                       Delivery.state))}
    for plugin, n in session.execute(
            select(Delivery.plugin, func.count()).where(
                Delivery.state == "pending", Delivery.last_error.is_not(None))
            .group_by(Delivery.plugin)):
        result[(plugin, "failing")] = n
    return result


def flow(session: Session) -> dict[tuple[str, str], float]:
    """Per plugin: ("…", "oldest_seconds"), the age of its oldest pending event, and
    ("…", "per_minute"), deliveries made a minute over the last `RATE_MINUTES` minutes."""
    result: dict[tuple[str, str], float] = {}
    at = now()
    heads = select(func.min(Delivery.id)).where(Delivery.state == "pending").group_by(
        Delivery.plugin)
    for plugin, created_at in session.execute(
            select(Delivery.plugin, OutboxEvent.created_at)
            .join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
            .where(Delivery.id.in_(heads.scalar_subquery()))):
        result[(plugin, "oldest_seconds")] = int((at - created_at).total_seconds())
    for plugin, n in session.execute(
            select(Delivery.plugin, func.count()).where(
                Delivery.state == "done",
                Delivery.delivered_at >= at - timedelta(minutes=RATE_MINUTES))
            .group_by(Delivery.plugin)):
        result[(plugin, "per_minute")] = round(n / RATE_MINUTES, 1)
    return result


def retry(session: Session, delivery_ids: list[int] | None = None, *, plugin: str | None = None,
          state: str = "dead") -> int:
    """Put deliveries back in the queue now with a fresh attempt count; returns how many.

    Given ids are retried whatever their state but "done"; without ids, every delivery in
    `state` (dead by default, or "pending" to hurry failing ones), of `plugin` if given.
    """
    condition = (and_(Delivery.id.in_(delivery_ids), Delivery.state != "done")
                 if delivery_ids is not None else Delivery.state == state)
    if plugin:
        condition = and_(condition, Delivery.plugin == plugin)
    result = session.execute(update(Delivery).where(condition).values(
        state="pending", attempts=0, next_attempt_at=now(), locked_until=None),
        execution_options={"synchronize_session": False})
    return result.rowcount
