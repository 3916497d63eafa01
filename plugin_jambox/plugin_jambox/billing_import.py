"""Importing SGT's billing events: the nightly job and `abonent jambox import --from D --to D`.

SGT's manual (4.1): the import may run any number of times over the same period and never
adds an event twice; it runs nightly and at the least before the invoices of a period.

How:
- every enabled JAMBOX agent's SMS is asked `billingEventsGet(from, to, "")` in short
  windows of `import_window_days` days (1 by default: a day is the smallest period the API
  takes; a busy day of a large operator is still read in bounded memory, below);
- each answer is received as it arrives (`stream=True`, the agent's `events_timeout` for
  every read) into a spool (memory up to 8 MB, then a temporary file) while its SHA-256
  is taken: an answer the same, byte for byte, as the one last imported whole for that
  window (`jambox_import_window`) has nothing new and is not read further — a second
  import over past days costs little more than the transfer;
- any other answer is read as a stream from the spool (plugin_jambox.billing_stream:
  lxml's pull parser, one event at a time, bounded memory) and written in batches of
  `import_batch`: ids already stored are looked up first and left out (not
  read further), the others checked (plugin_jambox.billing_events) and written with
  `INSERT … ON CONFLICT (sms_id) DO NOTHING` (an import running at the same time cannot
  make one twice), one `INSERT … SELECT FROM unnest(…)` a batch on PostgreSQL
  (core.insert_rows);
- one window is one transaction (its events and its digest), committed only once its
  answer has been read to its end:
  a fault, a timeout, a cut connection or a malformed / truncated answer fails that window
  with nothing of it written, the other windows go on, and the run says which windows
  failed (outcome "partial"). Run again, it fetches them afresh: no event is lost, none is
  stored twice;
- each event's contract is resolved as it is stored: the contract linked to its SMS
  customer number (kind "customer"), else the contract whose id SGT holds as the
  customer's external id. Events no contract claims yet are resolved again at the end of
  every run, so linking a customer later brings its earlier events in.
"""
from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import IO, Any, Iterable, Iterator

import requests
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import (MAX_KEY, Agent, Contract, ExternalLink, Field, JobSpec, Runtime, ValidationError,
                  inline_ids, insert_rows, job_outcome, now, operator_today)
from plugin_jambox.agent import CODE, AgentSettings
from plugin_jambox.billing_events import EventError, event_id, parse_event
from plugin_jambox.billing_models import BillingEvent, ImportWindow
from plugin_jambox.billing_stream import Fault, MalformedReply, iter_structs
from plugin_jambox.client import EVENTS_METHOD, JamboxClient, JamboxFault, JamboxUnavailable
from plugin_jambox.connections import client_for
from plugin_jambox.store import CUSTOMER, PLUGIN

log = logging.getLogger("abonent.jambox.billing")

JOB_ID = "jambox-billing-import"
#: the longest period one import may cover (a typing slip of a year is refused)
MAX_DAYS = 400
READ_CHUNK = 1 << 16
SPOOL_MEMORY = 8 << 20
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

SCHEMA = [
    Field("import_time", "time", default="03:00",
          help="time of day (operator's zone) of the nightly billing events import"),
    Field("import_days_back", "int", default=7, min=0, max=62,
          help="the nightly import asks for the events of this many days before today, "
               "and today's"),
    Field("import_window_days", "int", default=1, min=1, max=31,
          help="days asked for in one billingEventsGet call (one transaction each)"),
    Field("import_batch", "int", default=2000, min=1, max=50000,
          help="events written to the database at a time"),
]


# --- what a run did ------------------------------------------------------------------------

@dataclass
class ImportReport:
    first: date
    last: date
    windows: int = 0
    unchanged: int = 0
    fetched: int = 0
    inserted: int = 0
    resolved_late: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        return job_outcome(len(self.failed), self.windows - len(self.failed))

    def summary(self) -> str:
        text = (f"billing events {self.first}..{self.last}: {self.fetched} read, "
                f"{self.inserted} new, in {self.windows} window(s)")
        if self.unchanged:
            text += f" ({self.unchanged} unchanged since imported)"
        if self.resolved_late:
            text += f"; {self.resolved_late} earlier event(s) found their contract"
        if self.failed:
            text += f"; {len(self.failed)} window(s) failed: {self.failed[0]}"
        return text

    def result(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "summary": self.summary(), "windows": self.windows,
                "unchanged": self.unchanged, "fetched": self.fetched,
                "inserted": self.inserted, "failed": self.failed}


# --- input ---------------------------------------------------------------------------------

def parse_day(value: Any, field_name: str) -> date:
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    try:
        if not _DAY.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(field_name, f"{text!r} is not a day (YYYY-MM-DD)") from None


def check_period(first: Any, last: Any, today: date) -> tuple[date, date]:
    first, last = parse_day(first, "from"), parse_day(last, "to")
    if first > last:
        raise ValidationError("to", f"{last} is before {first}")
    if last > today:
        raise ValidationError("to", f"{last} is in the future (today is {today})")
    if (last - first).days >= MAX_DAYS:
        raise ValidationError("from", f"at most {MAX_DAYS} days at a time")
    return first, last


def windows(first: date, last: date, days: int) -> Iterator[tuple[date, date]]:
    start = first
    while start <= last:
        end = min(start + timedelta(days=days - 1), last)
        yield start, end
        start = end + timedelta(days=1)


# --- reading one window --------------------------------------------------------------------

def fetch_window(client: JamboxClient, first: date, last: date, spool: IO[bytes]) -> str:
    """Read the whole answer of `billingEventsGet(first, last, "")` into `spool` as it
    arrives (the agent's `events_timeout` for each read); returns its SHA-256. Raises
    JamboxUnavailable when it does not come whole."""
    response = client.post(EVENTS_METHOD, first.isoformat(), last.isoformat(), "", stream=True)
    digest = hashlib.sha256()
    try:
        for chunk in response.iter_content(READ_CHUNK):
            digest.update(chunk)
            spool.write(chunk)
    except requests.RequestException as exc:  # the body broke off, or a read timed out
        raise JamboxUnavailable(f"the answer broke off: {type(exc).__name__}: {exc}",
                                EVENTS_METHOD) from None
    finally:
        response.close()
    spool.seek(0)
    return digest.hexdigest()


def read_events(spool: IO[bytes], what: str) -> Iterator[dict[str, str | None]]:
    """The events of an answer as SGT sent them ({member: text}), one at a time. Raises
    JamboxFault (SGT refused) or JamboxUnavailable (not a whole answer) — possibly after
    some events."""
    try:
        yield from iter_structs(iter(partial(spool.read, READ_CHUNK), b""), what)
    except Fault as fault:
        raise JamboxFault(fault.code, fault.message, EVENTS_METHOD) from None
    except MalformedReply as exc:
        raise JamboxUnavailable(f"malformed reply: {exc}", EVENTS_METHOD) from None


def spool() -> IO[bytes]:
    """Where an answer waits to be read: memory up to SPOOL_MEMORY, then a temporary file."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)


# --- storing -------------------------------------------------------------------------------

def contracts_of(session: Session, customers: Iterable[tuple[str, str | None]]
                 ) -> dict[tuple[str, str | None], int]:
    """The contract of each (SMS customer number, external id): the one linked to the
    number, else the contract whose id is the external id (SGT's "Zewnętrzne ID")."""
    customers = set(customers)
    numbers = {number for number, _ in customers}
    linked = {number: contract_id for number, contract_id in session.execute(
        select(ExternalLink.external_id, ExternalLink.local_id).where(
            ExternalLink.plugin == PLUGIN, ExternalLink.kind == CUSTOMER,
            ExternalLink.external_id.in_(inline_ids("numbers", numbers))))} if numbers else {}
    wanted = {int(external) for number, external in customers
              if number not in linked and external and external.isdigit()
              and 0 < int(external) <= MAX_KEY}
    existing = set(session.scalars(select(Contract.id).where(
        Contract.id.in_(inline_ids("contracts", wanted))))) if wanted else set()
    found = {}
    for number, external in customers:
        if number in linked:
            found[number, external] = linked[number]
        elif external and external.isdigit() and int(external) in existing:
            found[number, external] = int(external)
    return found


def store_batch(session: Session, agent_id: int, events: list[dict[str, str | None]]) -> int:
    """Write the events (as SGT sent them) not stored yet, each checked
    (`EventError`); returns how many were new. An event already stored is not read
    beyond its id: a second import over the same days costs little more than the
    reading."""
    unique = {event_id(event): event for event in events}
    known = set(session.scalars(select(BillingEvent.sms_id).where(
        BillingEvent.sms_id.in_(inline_ids("sms_ids", unique)))))
    fresh = [parse_event(event) for sms_id, event in unique.items() if sms_id not in known]
    if not fresh:
        return 0
    contracts = contracts_of(session, {(r["cust_number"], r["cust_external_id"]) for r in fresh})
    at = now()
    for row in fresh:
        row.update(agent_id=agent_id, imported_at=at,
                   contract_id=contracts.get((row["cust_number"], row["cust_external_id"])))
    return len(insert_rows(session, BillingEvent, fresh, returning=("id",),
                           skip_existing=("sms_id",)))


def import_window(session: Session, client: JamboxClient, agent_id: int, first: date,
                  last: date, batch_size: int) -> tuple[int, int, bool]:
    """Fetch one window's answer and write its new events, in the caller's transaction;
    returns (events read, events new, whether the answer was the one last imported)."""
    window = session.scalars(select(ImportWindow).where(
        ImportWindow.agent_id == agent_id, ImportWindow.first_day == first,
        ImportWindow.last_day == last)).first()
    with spool() as body:
        digest = fetch_window(client, first, last, body)
        if window is not None and window.digest == digest:
            return window.events, 0, True
        read = new = 0
        batch: list[dict[str, str | None]] = []
        for event in read_events(body, f"{EVENTS_METHOD} {first}..{last}"):
            read += 1
            batch.append(event)
            if len(batch) >= batch_size:
                new += store_batch(session, agent_id, batch)
                batch = []
        if batch:
            new += store_batch(session, agent_id, batch)
    if window is None:
        window = ImportWindow(agent_id=agent_id, first_day=first, last_day=last)
        session.add(window)
    window.digest, window.events, window.imported_at = digest, read, now()
    return read, new, False


def resolve_unclaimed(session: Session) -> int:
    """Give their contract to stored events no contract claimed when they came (the
    customer was linked since); returns how many found one."""
    pairs = session.execute(select(BillingEvent.cust_number, BillingEvent.cust_external_id)
                            .where(BillingEvent.contract_id.is_(None)).distinct()).all()
    found = 0
    for (number, external), contract_id in contracts_of(session, map(tuple, pairs)).items():
        same_external = (BillingEvent.cust_external_id.is_(None) if external is None
                         else BillingEvent.cust_external_id == external)
        found += session.execute(
            update(BillingEvent).where(BillingEvent.contract_id.is_(None),
                                       BillingEvent.cust_number == number, same_external)
            .values(contract_id=contract_id)).rowcount
    return found


# --- the run -------------------------------------------------------------------------------

def jambox_agents(session: Session, agent_id: int | None = None) -> list[Agent]:
    query = select(Agent).where(Agent.type == CODE, Agent.enabled.is_(True))
    if agent_id is not None:
        query = query.where(Agent.id == agent_id)
    return list(session.scalars(query.order_by(Agent.id)))


def import_events(runtime: Runtime, first: Any, last: Any, *, agent_id: int | None = None,
                  actor: str = f"plugin:{PLUGIN}") -> ImportReport:
    """Import the events of the days `first`..`last` from every enabled JAMBOX agent (or
    one); see the module's docstring. Bad input raises ValidationError before any call."""
    config = runtime.plugin_configs.get(PLUGIN, {})
    with runtime.session(actor=actor) as session:
        first, last = check_period(first, last, operator_today(session))
        agents = [(agent.id, agent.name, agent.settings)
                  for agent in jambox_agents(session, agent_id)]
    report = ImportReport(first, last)
    for agent_id_, name, raw in agents:
        try:
            client = client_for(AgentSettings.of(agent_id_, raw))
        except ValidationError as exc:
            report.windows += 1
            report.failed.append(f"agent {name}: {exc}")
            continue
        for start, end in windows(first, last, config.get("import_window_days", 1)):
            report.windows += 1
            try:
                with runtime.session(actor=actor) as session:
                    read, new, unchanged = import_window(session, client, agent_id_, start,
                                                         end, config.get("import_batch", 2000))
            except (JamboxFault, JamboxUnavailable, EventError) as exc:
                log.warning("billing events %s..%s of agent %s not imported: %s",
                            start, end, name, exc)
                report.failed.append(f"{start}..{end} ({name}): {exc}")
                continue
            except IntegrityError:  # its digest, written by an import running at once
                report.failed.append(f"{start}..{end} ({name}): imported at the same time "
                                     f"by another run; run again")
                continue
            report.fetched += read
            report.inserted += new
            report.unchanged += unchanged
    with runtime.session(actor=actor) as session:
        report.resolved_late = resolve_unclaimed(session)
    return report


def nightly_import(ctx) -> dict[str, Any]:
    """The scheduled import: the last `import_days_back` days and today."""
    with ctx.runtime.session() as session:
        today = operator_today(session)
    back = ctx.config.get("import_days_back", 7)
    return import_events(ctx.runtime, today - timedelta(days=back), today).result()


def job(runtime: Runtime) -> JobSpec:
    at = runtime.plugin_configs[PLUGIN]["import_time"]
    return JobSpec(id=JOB_ID, func=nightly_import, cron={"hour": at.hour, "minute": at.minute},
                   description="JAMBOX: import SGT's billing events of the last days")
