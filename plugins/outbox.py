"""Delivering the outbox: each pending delivery goes to its plugin's notification hook.

Guarantees (DESIGN.md): at least once; one delivery per (event, plugin); in order per
(plugin, account) — a delivery is claimed only when no earlier delivery of the same
(plugin, account) is still pending, so a failing one holds back the later ones while
other accounts flow; exponential back-off with jitter; `RetryLater`; dead letter after
`outbox.max_attempts` failed attempts, or at once when the plugin raises `Rejected` (a dead
letter no longer holds the queue back: the plugin's reconcile repairs what it missed);
retry by hand.

A worker claims a batch by writing a lease (`locked_until`) in a short transaction
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers share the queue), calls the
plugins outside any transaction, then records the outcomes. Leases are short
(`outbox.lease_seconds`) and a heartbeat renews them every `outbox.heartbeat_seconds`
while the worker lives, however slow a plugin is: a worker killed mid-batch loses nothing
and holds its accounts back only until its leases run out, seconds later, when another
worker takes those deliveries again (a re-send carries the same idempotency key).

A database that goes away does not end a worker: it keeps the outcomes it could not write,
stops delivering once it can no longer vouch for its leases, waits with back-off (one log
line per outage) and writes them first when the database is back.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (ARRAY, BigInteger, and_, any_, cast, exists, func, or_,
                        select, update)
from sqlalchemy.orm import Session, aliased

from core.clock import now
from core.db import Reconnect, unavailable
from core.errors import Rejected, RetryLater
from core.events import Event
from core.models import Delivery, OutboxEvent
from core.runtime import Runtime
from core.sqlfuncs import inline_ids

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
        #: outcomes delivered but not yet written (kept across an outage of the database)
        self._unwritten: list[tuple[Claimed, str, Any]] = []

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.config["lease_seconds"])

    # --- claiming -----------------------------------------------------------------------

    def claim(self, limit: int | None = None) -> list[Claimed]:
        """Lease up to `limit` deliveries that are due and first in their (plugin, account)."""
        limit = limit or self.config["batch_size"]
        if not self.plugins:
            return []
        with self.runtime.session(actor="outbox") as session:
            at = now()
            earlier = aliased(Delivery)
            blocked = exists().where(
                earlier.plugin == Delivery.plugin, earlier.account_id == Delivery.account_id,
                earlier.state == "pending", earlier.id < Delivery.id)
            due = (select(Delivery.id).where(
                Delivery.state == "pending", Delivery.next_attempt_at <= at,
                or_(Delivery.locked_until.is_(None), Delivery.locked_until < at),
                Delivery.plugin.in_(self.plugins), ~blocked)
                .order_by(Delivery.id).limit(limit).with_for_update(skip_locked=True))
            if session.bind.dialect.name == "postgresql":
                # one array, computed once, then primary-key look-ups: `IN (subquery)`
                # would be planned as a hash semi-join over the whole table
                due = select(func.array_agg(due.subquery().c.id)).scalar_subquery()
                chosen = Delivery.id == any_(cast(due, ARRAY(BigInteger)))
            else:
                chosen = Delivery.id.in_(due.scalar_subquery())
            leased = session.execute(
                update(Delivery).where(chosen).values(
                    locked_until=at + self.lease,
                    locked_by=self.worker_id, attempts=Delivery.attempts + 1)
                .returning(Delivery.id, Delivery.plugin, Delivery.attempts, Delivery.event_id),
                execution_options={"synchronize_session": False}).all()
            if not leased:
                return []
            events = {row[0]: row for row in session.execute(
                select(OutboxEvent.id, OutboxEvent.name, OutboxEvent.account_id,
                       OutboxEvent.contract_id, OutboxEvent.payload, OutboxEvent.created_at)
                .where(OutboxEvent.id.in_(inline_ids("events"))),
                {"events": [row.event_id for row in leased]})}
            claimed = []
            for delivery_id, plugin, attempts, event_id in sorted(leased):
                _, name, account_id, contract_id, payload, created_at = events[event_id]
                claimed.append(Claimed(delivery_id, plugin, attempts, Event(
                    id=event_id, name=name, account_id=account_id, contract_id=contract_id,
                    payload=payload, created_at=created_at,
                    idempotency_key=f"{event_id}:{plugin}", attempt=attempts)))
            return claimed

    # --- delivering ---------------------------------------------------------------------

    def deliver(self, item: Claimed) -> tuple[str, Any]:
        """Call the plugin; returns ("done", None), ("retry", RetryLater), ("reject", text)
        or ("fail", text). A plugin that fails because our database is away is retried
        later without losing an attempt: the outage is not the delivery's fault."""
        try:
            self.runtime.pm.call_one(f"abonent_{item.event.name}", item.plugin, event=item.event,
                                     ctx=self.runtime.context(item.plugin))
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
        return "done", None

    def backoff(self, attempts: int) -> timedelta:
        """Exponential back-off with jitter: base·2^(n−1), capped, times 0.5–1.0."""
        base = float(self.config["backoff_base"])
        ceiling = float(self.config["backoff_max"])
        delay = min(ceiling, base * 2 ** max(0, attempts - 1))
        return timedelta(seconds=delay * random.uniform(0.5, 1.0))

    def record(self, outcomes: list[tuple[Claimed, str, Any]]) -> None:
        """Write the outcomes of delivered items in one transaction."""
        if not outcomes:
            return
        with self.runtime.session(actor="outbox") as session:
            at = now()
            done = [item.delivery_id for item, status, _ in outcomes if status == "done"]
            if done:
                session.execute(
                    update(Delivery).where(Delivery.id.in_(inline_ids("done")),
                                           Delivery.state == "pending")
                    .values(state="done", delivered_at=at, locked_until=None, last_error=None),
                    {"done": done}, execution_options={"synchronize_session": False})
            for item, status, detail in outcomes:
                if status == "retry":
                    self._retry_later(session, item, detail, at)
                elif status in ("fail", "reject"):
                    self._failed(session, item, detail, at, dead=status == "reject")

    def _retry_later(self, session: Session, item: Claimed, exc: RetryLater, at: datetime):
        wait = exc.after if exc.after is not None else self.backoff(item.attempts)
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

    def renew(self, items: list[Claimed]) -> None:
        """Extend the leases of the batch's deliveries not written yet (the heartbeat)."""
        with self.runtime.session(actor="outbox") as session:
            session.execute(update(Delivery).where(
                Delivery.id.in_(inline_ids("batch")), Delivery.locked_by == self.worker_id,
                Delivery.state == "pending", Delivery.locked_until.is_not(None)
            ).values(locked_until=now() + self.lease),
                {"batch": [i.delivery_id for i in items]},
                execution_options={"synchronize_session": False})

    def release(self, items: list[Claimed]) -> None:
        """Give back leased deliveries this worker will not get to (no attempt counted)."""
        if not items:
            return
        with self.runtime.session(actor="outbox") as session:
            session.execute(update(Delivery).where(
                Delivery.id.in_([i.delivery_id for i in items]), Delivery.locked_by == self.worker_id
            ).values(locked_until=None, attempts=Delivery.attempts - 1))

    # --- running ------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many deliveries were attempted.

        Outcomes are written at the end of the batch, or every second under a slow plugin
        (so a later event of the same account is not held back long). While the heartbeat
        cannot renew the leases (the database is away), delivering stops before they
        could run out: past that point another worker may already be sending the rest.
        """
        self.flush()  # what an outage kept back goes first
        batch = self.claim()
        if not batch:
            return 0
        last_flush = time.monotonic()
        with Heartbeat(self, batch) as heartbeat:
            for index, item in enumerate(batch):
                if not heartbeat.holds():
                    self._if_up(self.flush)
                    self._if_up(self.release, batch[index:])
                    return index
                self._unwritten.append((item, *self.deliver(item)))
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

    def run_forever(self, stop: threading.Event) -> None:
        """Deliver until `stop` is set, waiting out outages of the database."""
        interval = float(self.config["poll_interval"])
        reconnect = Reconnect(log, f"outbox worker {self.worker_id}")
        log.info("outbox worker %s started for plugins %s", self.worker_id, self.plugins)
        while not stop.is_set():
            try:
                busy = self.run_once()
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
        self._if_up(self.flush)


class Heartbeat:
    """Renews a batch's leases every `outbox.heartbeat_seconds` from a thread of its own,
    so a plugin call of any length keeps them while the worker lives, and a dead worker's
    run out within `outbox.lease_seconds`."""

    def __init__(self, outbox: Outbox, batch: list[Claimed]):
        self.outbox, self.batch = outbox, batch
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
                self.outbox.renew(self.batch)
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
