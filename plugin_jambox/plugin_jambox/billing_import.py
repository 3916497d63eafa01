"""Importing SGT's billing events: the nightly job and `abonent jambox import --from D --to D`.

SGT's manual (4.1): the import may run any number of times over the same period and never
adds an event twice; it runs nightly and at the least before the invoices of a period.

How:
- every enabled JAMBOX agent's SMS is asked `billingEventsGet(from, to, "")` in short
  windows of `import_window_days` days (1 by default: a day is the smallest period the API
  takes; a busy day of a large operator is still read in bounded memory, below);
- each answer is read as a stream (plugin_jambox.billing_stream: lxml's pull parser over
  the body as it arrives, the agent's `events_timeout` for every read), the events checked
  (plugin_jambox.billing_events) and written in batches of `import_batch`: ids already
  stored are looked up first and left out, the rest go in with `INSERT … ON CONFLICT
  (sms_id) DO NOTHING` (an import running at the same time cannot make one twice);
- one window is one transaction, committed only once its answer has been read to its end:
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

import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Iterable, Iterator

import requests
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import (MAX_KEY, Agent, Contract, ExternalLink, Field, JobSpec, Runtime, ValidationError,
                  job_outcome, now, operator_today)
from plugin_jambox.agent import CODE, AgentSettings
from plugin_jambox.billing_events import EventError, parse_event
from plugin_jambox.billing_models import BillingEvent
from plugin_jambox.billing_stream import Fault, MalformedReply, iter_structs
from plugin_jambox.client import EVENTS_METHOD, JamboxClient, JamboxFault, JamboxUnavailable
from plugin_jambox.connections import client_for
from plugin_jambox.store import CUSTOMER, PLUGIN

log = logging.getLogger("abonent.jambox.billing")

JOB_ID = "jambox-billing-import"
#: the longest period one import may cover (a typing slip of a year is refused)
MAX_DAYS = 400
READ_CHUNK = 1 << 16
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
        if self.resolved_late:
            text += f"; {self.resolved_late} earlier event(s) found their contract"
        if self.failed:
            text += f"; {len(self.failed)} window(s) failed: {self.failed[0]}"
        return text

    def result(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "summary": self.summary(), "windows": self.windows,
                "fetched": self.fetched, "inserted": self.inserted, "failed": self.failed}


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

def stream_events(client: JamboxClient, first: date, last: date) -> Iterator[dict[str, Any]]:
    """The checked events of `billingEventsGet(first, last, "")`, one at a time, read as
    the answer arrives. Raises JamboxFault (SGT refused), JamboxUnavailable (no whole
    answer) or EventError (an event that cannot be taken) — possibly after some events."""
    response = client.post(EVENTS_METHOD, first.isoformat(), last.isoformat(), "", stream=True)
    what = f"{EVENTS_METHOD} {first}..{last}"
    try:
        for struct in iter_structs(response.iter_content(READ_CHUNK), what):
            yield parse_event(struct)
    except Fault as fault:
        raise JamboxFault(fault.code, fault.message, EVENTS_METHOD) from None
    except MalformedReply as exc:
        raise JamboxUnavailable(f"malformed reply: {exc}", EVENTS_METHOD) from None
    except requests.RequestException as exc:  # the body broke off, or a read timed out
        raise JamboxUnavailable(f"the answer broke off: {type(exc).__name__}: {exc}",
                                EVENTS_METHOD) from None
    finally:
        response.close()


# --- storing -------------------------------------------------------------------------------

def _insert(session: Session):
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    table = BillingEvent.__table__
    return (dialect.insert(table).on_conflict_do_nothing(index_elements=["sms_id"])
            .returning(table.c.id))


def contracts_of(session: Session, customers: Iterable[tuple[str, str | None]]
                 ) -> dict[tuple[str, str | None], int]:
    """The contract of each (SMS customer number, external id): the one linked to the
    number, else the contract whose id is the external id (SGT's "Zewnętrzne ID")."""
    customers = set(customers)
    numbers = {number for number, _ in customers}
    linked = {number: contract_id for number, contract_id in session.execute(
        select(ExternalLink.external_id, ExternalLink.local_id).where(
            ExternalLink.plugin == PLUGIN, ExternalLink.kind == CUSTOMER,
            ExternalLink.external_id.in_(numbers)))} if numbers else {}
    wanted = {int(external) for number, external in customers
              if number not in linked and external and external.isdigit()
              and 0 < int(external) <= MAX_KEY}
    existing = set(session.scalars(select(Contract.id).where(Contract.id.in_(wanted)))) \
        if wanted else set()
    found = {}
    for number, external in customers:
        if number in linked:
            found[number, external] = linked[number]
        elif external and external.isdigit() and int(external) in existing:
            found[number, external] = int(external)
    return found


def store_batch(session: Session, agent_id: int, rows: list[dict[str, Any]]) -> int:
    """Write the events of `rows` not stored yet; returns how many were new."""
    unique = {row["sms_id"]: row for row in rows}
    known = set(session.scalars(select(BillingEvent.sms_id).where(
        BillingEvent.sms_id.in_(list(unique)))))
    fresh = [row for sms_id, row in unique.items() if sms_id not in known]
    if not fresh:
        return 0
    contracts = contracts_of(session, {(r["cust_number"], r["cust_external_id"]) for r in fresh})
    at = now()
    for row in fresh:
        row.update(agent_id=agent_id, imported_at=at,
                   contract_id=contracts.get((row["cust_number"], row["cust_external_id"])))
    return len(session.execute(_insert(session), fresh).all())


def import_window(session: Session, client: JamboxClient, agent_id: int, first: date,
                  last: date, batch_size: int) -> tuple[int, int]:
    """Read one window's events and write the new ones, in the caller's transaction;
    returns (events read, events new)."""
    read = new = 0
    batch: list[dict[str, Any]] = []
    for row in stream_events(client, first, last):
        read += 1
        batch.append(row)
        if len(batch) >= batch_size:
            new += store_batch(session, agent_id, batch)
            batch = []
    if batch:
        new += store_batch(session, agent_id, batch)
    return read, new


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
                    read, new = import_window(session, client, agent_id_, start, end,
                                              config.get("import_batch", 2000))
            except (JamboxFault, JamboxUnavailable, EventError) as exc:
                log.warning("billing events %s..%s of agent %s not imported: %s",
                            start, end, name, exc)
                report.failed.append(f"{start}..{end} ({name}): {exc}")
                continue
            report.fetched += read
            report.inserted += new
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
