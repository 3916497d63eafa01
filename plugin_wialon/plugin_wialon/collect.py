"""The daily counting run of one Wialon agent: count each account's objects, write them
as a CDR file, and have the billing's spool intake charge them (count × price).

A run for (agent, day), under the spool folder's lock:
1. deletes what a crashed run left half-written and takes in what a crashed run left
   whole (files the intake has not taken yet), so their records exist before step 3;
2. reads the day's lines still waiting in the spool (when that intake could not take
   them), then asks the database which accounts to count (plugin_wialon.selection):
   an account whose day a usage record of this source already holds, or a line still
   waiting, is skipped — in that order, so a file the intake takes in between is seen
   in one place or the other;
3. counts the rest in Wialon (plugin_wialon.client: core/batch, ≤ 10 requests at once,
   one re-login on 1 / 1011, back-off on 10 / 1003); an account that cannot be counted
   is reported with the reason, and the others go on;
4. writes the counts as one new spool file (plugin_wialon.spool) and takes it in.

So a second run the same day writes nothing new, a run after a failure writes only the
accounts that failed, and a crash anywhere neither loses a count nor charges it twice:
before the file is whole nothing happened; after, the file is either waiting (step 2
sees it) or taken (its records are there). An account with no objects gets a line of 0
(a charge of 0.00): its day is then recorded as counted, so a later catch-up (see
plugin_wialon.catchup) never charges that day with objects added since.

A run that cannot count at all (Wialon refuses the token, cannot be reached) says so
once, as the run's `run_failure`, not once per account.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from core import (Agent, CdrLine, FileReport, NotFound, Runtime, ValidationError, intake,
                  operator_today, spool_root)
from plugin_wialon import spool
from plugin_wialon.agent import CODE, AgentSettings, wialon_account_id
from plugin_wialon.client import UnitCount, WialonClient, WialonError
from plugin_wialon.config import PLUGIN
from plugin_wialon.errors import Code
from plugin_wialon.selection import PCS, Target, targets

log = logging.getLogger("abonent.wialon")
ACTOR = f"plugin:{PLUGIN}"
#: Failures and empty accounts listed in a run's summary; the counts are always whole.
SUMMARY_LIMIT = 100


@dataclass(frozen=True)
class Failure:
    account_id: int
    ext_id: str | None
    reason: str


@dataclass
class CollectReport:
    """What one run did. `accounts` = counted + failed + skipped + not_counted;
    `without_objects` are counted accounts Wialon reports no objects for (a line of 0);
    `run_failure` is why nothing could be counted (then `not_counted` accounts were not);
    `error` is why the file written was not rated yet."""

    agent: str
    source: str
    day: date
    dry_run: bool
    accounts: int = 0
    counted: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    without_objects: list[int] = field(default_factory=list)
    lines: int = 0
    units: int = 0
    file: str | None = None
    rated: int = 0
    rejected: int = 0
    amount: Decimal = Decimal("0.00")
    error: str | None = None
    run_failure: str | None = None
    not_counted: int = 0

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def troubled(self) -> bool:
        """Something of the day is not charged: an account failed, or nothing could be
        counted, or the file written waits to be rated."""
        return bool(self.failures or self.run_failure or self.error)

    def summary(self) -> dict:
        """The JSON-able figures of the day (the job's result lists them per day)."""
        result = {
            "agent": self.agent, "source": self.source, "day": self.day.isoformat(),
            "dry_run": self.dry_run, "accounts": self.accounts, "counted": self.counted,
            "failed": self.failed, "skipped": self.skipped, "not_counted": self.not_counted,
            "lines": self.lines, "units": self.units, "file": self.file, "rated": self.rated,
            "rejected": self.rejected, "amount": str(self.amount), "error": self.error,
            "run_failure": self.run_failure,
            "failures": [{"account_id": f.account_id, "ext_id": f.ext_id, "reason": f.reason}
                         for f in self.failures[:SUMMARY_LIMIT]],
            "without_objects": self.without_objects[:SUMMARY_LIMIT],
        }
        if self.failed > SUMMARY_LIMIT:
            result["failures_not_listed"] = self.failed - SUMMARY_LIMIT
        return result


class CountSession:
    """One Wialon session for one or more days of an agent (a catch-up counts the same
    accounts for several days: each is asked once). A run-wide failure (the login) is
    kept: the days after it fail with the same cause without asking Wialon again."""

    def __init__(self, runtime: Runtime, settings: AgentSettings):
        config = runtime.plugin_configs[PLUGIN]
        self.method = settings.count_method
        self.client = WialonClient(settings.api_url, settings.token, timeout=config["timeout"],
                                   max_concurrency=config["max_concurrency"],
                                   batch_size=config["batch_size"])
        self.known: dict[int, UnitCount] = {}
        self.failure: WialonError | None = None

    def count(self, wialon_ids: set[int]) -> dict[int, UnitCount]:
        """The count of each id; raises the run-wide WialonError (auth, unreachable)."""
        if self.failure is not None:
            raise self.failure
        asking = sorted(wialon_ids - self.known.keys())
        if asking:
            try:
                self.known.update(self.client.count_units(asking, self.method))
            except WialonError as exc:
                self.failure = exc
                raise
        return {w: self.known[w] for w in wialon_ids}

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "CountSession":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def wialon_agents(session, ref: str | int | None = None) -> list[Agent]:
    """Enabled Wialon agents (all, or the one named or numbered `ref`)."""
    query = select(Agent).where(Agent.type == CODE).order_by(Agent.id)
    if ref is None:
        return list(session.scalars(query.where(Agent.enabled.is_(True))))
    text = str(ref).strip()
    by = Agent.id == int(text) if text.isdigit() else Agent.name == text
    agent = session.scalars(query.where(by)).first()
    if agent is None:
        raise NotFound("agent", f"no Wialon agent named or numbered {text!r}")
    if not agent.enabled:
        raise ValidationError("agent", f"Wialon agent {agent.name!r} is disabled")
    return [agent]


def agent_settings(runtime: Runtime, agent_id: int) -> tuple[AgentSettings, date]:
    """A usable agent's settings and the operator's today; ValidationError / NotFound
    naming what is wrong (missing, disabled, bad settings)."""
    with runtime.session(actor=ACTOR) as session:
        agent = session.get(Agent, agent_id)
        if agent is None or agent.type != CODE:
            raise NotFound("agent_id", f"no Wialon agent with id {agent_id}")
        if not agent.enabled:
            raise ValidationError("agent_id", f"Wialon agent {agent.name!r} is disabled")
        return AgentSettings.of(agent), operator_today(session)


def collect(runtime: Runtime, agent_id: int, day: date | None = None, *,
            dry_run: bool = False, counter: CountSession | None = None) -> CollectReport:
    """Count, write and rate the day (default: the operator's today) of one agent.

    A dry run counts and reports what it would write, and writes nothing. `counter`
    shares one Wialon session (and its counts) between days; by default the run has
    its own. Raises ValidationError for an agent that is not usable (missing, disabled,
    bad settings), spool.RunInProgress when another run holds the spool folder.
    """
    settings, today = agent_settings(runtime, agent_id)
    if day is not None and day > today:
        raise ValidationError("date", f"{day} has not begun (the operator's today is {today}): "
                                      f"Wialon counts the objects an account has now")
    if counter is None:
        with CountSession(runtime, settings) as own:
            return collect(runtime, agent_id, day, dry_run=dry_run, counter=own)
    run = _Run(runtime, settings, day or today, dry_run, counter)
    if dry_run:
        run.count_and_write()
        return run.report
    with spool.locked(run.folder):
        if spool.drop_unfinished(run.folder):
            log.warning("Wialon %s: deleted a half-written file of a run that crashed",
                        settings.name)
        intake(runtime, settings.cdr_source)
        run.count_and_write()
    report = run.report
    log.info("Wialon %s, %s: %d counted, %d failed, %d skipped; %s charged%s", settings.name,
             run.day, report.counted, report.failed, report.skipped, report.amount,
             f"; {report.run_failure or report.error}" if report.run_failure or report.error
             else "")
    return report


class _Run:
    def __init__(self, runtime: Runtime, settings: AgentSettings, day: date, dry_run: bool,
                 counter: CountSession):
        self.runtime = runtime
        self.settings = settings
        self.day = day
        self.counter = counter
        self.folder: Path = spool_root(runtime) / settings.cdr_source
        self.report = CollectReport(settings.name, settings.cdr_source, day, dry_run)

    def fail(self, account_id: int, ext_id: str | None, reason: str) -> None:
        self.report.failures.append(Failure(account_id, ext_id, reason))

    def count_and_write(self) -> None:
        waiting = spool.waiting_lines(self.folder, self.day)  # before the database: see 2.
        with self.runtime.session(actor=ACTOR) as session:
            found = targets(session, self.settings.agent_id, self.settings.cdr_source, self.day)
        by_account: dict[int, list[Target]] = defaultdict(list)
        for target in found:
            by_account[target.account_id].append(target)
        self.report.accounts = len(by_account)
        to_count: dict[int, tuple[int, list[Target]]] = {}
        for account_id, items in by_account.items():
            missing = [t for t in items
                       if not t.done and (t.ext_id, t.sensor_type_id) not in waiting]
            if not missing:
                self.report.skipped += 1
                continue
            wialon_id, refusal = _who(items[0])
            if refusal:
                self.fail(account_id, items[0].ext_id, refusal)
            else:
                to_count[account_id] = (wialon_id, missing)
        counts = self._count({w for w, _ in to_count.values()})
        if counts is None:
            self.report.not_counted = len(to_count)
            return
        lines, written_by = self._lines(to_count, counts)
        self.report.lines = len(lines)
        if lines and not self.report.dry_run:
            self._write_and_take(lines, written_by)

    def _count(self, wialon_ids: set[int]) -> dict[int, UnitCount] | None:
        """The counts, or None when nothing could be counted (the cause is the report's
        run_failure: one line, not one per account)."""
        if not wialon_ids:
            return {}
        try:
            return self.counter.count(wialon_ids)
        except WialonError as exc:
            self.report.run_failure = f"nothing counted: {exc}"
            return None

    def _lines(self, to_count: dict[int, tuple[int, list[Target]]],
               counts: dict[int, UnitCount]) -> tuple[list[CdrLine], dict[str, int]]:
        """The CDR lines of the accounts counted; and which account each ext_id is."""
        lines: list[CdrLine] = []
        written_by: dict[str, int] = {}
        for account_id, (wialon_id, missing) in to_count.items():
            ext_id = missing[0].ext_id
            counted = counts[wialon_id]
            if counted.count is None:
                self.fail(account_id, ext_id, _reason(ext_id, counted))
                continue
            self.report.counted += 1
            if counted.count == 0:
                self.report.without_objects.append(account_id)
            self.report.units += counted.count
            written_by[ext_id] = account_id
            lines += [CdrLine(ext_id, PCS, t.sensor_type_id, Decimal(counted.count))
                      for t in missing]
        return lines, written_by

    def _write_and_take(self, lines: list[CdrLine], written_by: dict[str, int]) -> None:
        settle = self.runtime.settings.section("cdr")["settle_seconds"]
        written = spool.write(self.folder, self.day, lines, settle)
        self.report.file = written.path.name
        # A file the intake failed on is reported by name only (it was not read).
        taken = next((r for r in intake(self.runtime, self.settings.cdr_source)
                      if r.digest == written.digest or r.name == written.path.name), None)
        if taken is None or taken.error:
            why = taken.error if taken else "the intake did not take it"
            self.report.error = (f"{written.path.name} was written, but this run could not "
                                 f"rate it ({why}); the next intake of the spool does")
            return
        self.report.rated, self.report.rejected = taken.taken, taken.rejected
        self.report.amount = taken.amount
        refused = _refusals(taken)
        for ext_id, reason in refused.items():
            account_id = written_by[ext_id]
            self.report.counted -= 1
            self.fail(account_id, ext_id, f"counted, but the billing refused the count: {reason}")


def _reason(ext_id: str, counted: UnitCount) -> str:
    if counted.error_code == Code.ACCESS_DENIED:
        return (f"ext_id {ext_id} not found on Wialon (no such billing account, or the "
                f"token's user has no access to it; Wialon error 7)")
    return counted.reason


def _who(target: Target) -> tuple[int | None, str | None]:
    """The Wialon account id to count for a target's account, or why there is none."""
    if not target.ext_id:
        return None, "the account has no ext_id (its Wialon account id)"
    wialon_id = wialon_account_id(target.ext_id)
    if wialon_id is None:
        return None, (f"ext_id {target.ext_id!r} is not a Wialon account id "
                      f"(a whole number above 0)")
    if target.sharing > 1:
        return None, (f"ext_id {target.ext_id} is shared by {target.sharing} accounts: "
                      f"the billing cannot tell whose objects they are")
    return wialon_id, None


def _refusals(report: FileReport) -> dict[str, str]:
    """ext_id → reason of the lines the rating refused, from the intake's rejects file
    (`line_no;ext_id;unit_id;sensor_type_id;value;reason`); the first per ext_id."""
    if report.rejects is None:
        return {}
    refused: dict[str, str] = {}
    with open(report.rejects, encoding="utf-8") as rejects:
        for row in rejects:
            parts = row.rstrip("\n").split(";", 5)
            if len(parts) == 6:
                refused.setdefault(parts[1], parts[5])
    return refused
