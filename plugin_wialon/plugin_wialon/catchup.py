"""The scheduled counting of one agent: the days not yet complete, oldest first, then today.

The daily run used to count today only, so a night when Wialon was down or the token
wrong was a day never billed unless someone ran `--date` by hand. A run without a date
now goes through the `catch_up_days` days before today, oldest first, and today: a day
is complete when every account of the agent holds a count for it (plugin_wialon.collect
skips those accounts without asking Wialon), so a complete day costs one query and an
incomplete one counts only what it misses. Wialon tells how many objects an account has
now, not on a past day: a day caught up is charged with the count of the day it is
caught up on, which the summary says by naming the days caught up.

One Wialon session serves all the days and each account is asked once
(collect.CountSession); when Wialon cannot be asked at all the run stops at that day,
says why once, and names the days left for the next run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from core import Runtime, job_outcome
from plugin_wialon.collect import (SUMMARY_LIMIT, CollectReport, CountSession,
                                   agent_settings, collect)
from plugin_wialon.config import PLUGIN

#: Accounts named in a summary line before "and N more".
NAMED_IN_LINE = 3


@dataclass
class CatchUpReport:
    """The days one run went through (oldest first) and the days it left untried."""

    agent: str
    today: date
    window: int
    days: list[CollectReport] = field(default_factory=list)
    not_tried: list[date] = field(default_factory=list)

    @property
    def counted(self) -> int:
        return sum(d.counted for d in self.days)

    @property
    def failed(self) -> int:
        return sum(d.failed for d in self.days)

    @property
    def amount(self) -> Decimal:
        return sum((d.amount for d in self.days), start=Decimal("0.00"))

    @property
    def run_failure(self) -> str | None:
        return next((d.run_failure for d in self.days if d.run_failure), None)

    @property
    def caught_up(self) -> list[CollectReport]:
        """Earlier days this run counted something for."""
        return [d for d in self.days if d.day < self.today and d.counted]

    @property
    def outcome(self) -> str:
        """"ok": every day of the window complete; "partial": counted, but some account
        or day is not charged; "failed": nothing counted and something could not be."""
        not_charged = sum(d.failed + d.not_counted + bool(d.error) for d in self.days)
        return job_outcome(failed=not_charged, done=self.counted)

    def line(self) -> str:
        """The run in one line, for the jobs page, `abonent jobs` and the log."""
        head = self.agent
        if self.run_failure:
            days = [d.day for d in self.days if d.run_failure] + self.not_tried
            left = (f"{days[0]}" if len(days) == 1 else f"{len(days)} days, {days[0]} to "
                    f"{days[-1]}")
            done = (f"; before that {self.counted} counted, {self.amount} charged"
                    if self.counted else "")
            return f"{head}: {self.run_failure}; left for the next run: {left}{done}"
        today = self.days[-1]
        parts = [f"{today.day}: {today.counted} counted, {today.amount} charged"
                 + (f", {today.skipped} already counted" if today.skipped else "")]
        if self.caught_up:
            parts.append("caught up " + ", ".join(
                f"{d.day} ({d.counted} counted, {d.amount})" for d in self.caught_up))
        failures = [(d.day, f) for d in self.days for f in d.failures]
        if failures:
            accounts = {f.account_id for _, f in failures}
            first = failures[0][1]
            parts.append(f"{len(accounts)} account(s) failed, e.g. account {first.account_id}: "
                         f"{first.reason}")
        waiting = [d for d in self.days if d.error]
        if waiting:
            parts.append(waiting[0].error)
        return f"{head}, " + "; ".join(parts)

    def summary(self) -> dict:
        """The job's result: outcome and line (contract of the scheduler), the totals,
        and the figures of each day that had something to do."""
        days = [d for d in self.days if d.day == self.today or d.counted or d.troubled]
        failures = _failures_by_account(self.days)
        result = {
            "outcome": self.outcome, "summary": self.line(), "agent": self.agent,
            "today": self.today.isoformat(), "catch_up_days": self.window,
            "counted": self.counted, "failed": len(failures), "amount": str(self.amount),
            "caught_up": [d.day.isoformat() for d in self.caught_up],
            "run_failure": self.run_failure,
            "not_tried": [d.isoformat() for d in self.not_tried],
            "days": [{k: v for k, v in d.summary().items()
                      if k not in ("agent", "failures", "without_objects")} for d in days],
            "failures": failures[:SUMMARY_LIMIT],
        }
        if len(failures) > SUMMARY_LIMIT:
            result["failures_not_listed"] = len(failures) - SUMMARY_LIMIT
        return result


def _failures_by_account(days: list[CollectReport]) -> list[dict]:
    """One entry per account that failed, with the days it failed on (its last reason)."""
    found: dict[int, dict] = {}
    for report in days:
        for f in report.failures:
            entry = found.setdefault(f.account_id, {"account_id": f.account_id,
                                                    "ext_id": f.ext_id, "days": []})
            entry["days"].append(report.day.isoformat())
            entry["reason"] = f.reason
    return list(found.values())


def count_days(runtime: Runtime, agent_id: int, *, window: int | None = None,
               dry_run: bool = False) -> CatchUpReport:
    """Count the incomplete days of the last `window` (default: the plugin's
    `catch_up_days`) before the operator's today, oldest first, then today."""
    settings, today = agent_settings(runtime, agent_id)
    if window is None:
        window = runtime.plugin_configs[PLUGIN]["catch_up_days"]
    days = [today - timedelta(days=back) for back in range(window, -1, -1)]
    report = CatchUpReport(settings.name, today, window)
    with CountSession(runtime, settings) as counter:
        for index, day in enumerate(days):
            counted = collect(runtime, agent_id, day, dry_run=dry_run, counter=counter)
            report.days.append(counted)
            if counted.run_failure:
                report.not_tried = days[index + 1:]
                break
    return report
