"""Several consecutive billing days, as the scheduler would run them, and the money of each.

A billing bug rarely shows on the first day: the second day's usage file equals the
first's and is taken as a duplicate, a day the platform was down is never caught up, a
refund lands on the wrong day. A test that runs one day and counts rows sees none of it.
`BillingDays` runs a runtime through days D, D+1, … with the clock set to each day's
time, runs the jobs a day has (by id, through the scheduler's recorded runs, so their
outcomes are checked too) and keeps, for every day, the charges that day's runs wrote and
every contract's balance after it. The test then asserts money, day by day:

    days = BillingDays(runtime, ["wialon.collect", "core.cdr_intake", "core.billing_day"])
    ran = days.run(date(2026, 11, 1), 3, before=lambda day: platform.set_count(6))
    assert [d.charged(contract.id, kind="usage") for d in ran] == [Decimal("18.00")] * 3
    assert [d.balances[contract.id] for d in ran] == [Decimal("482.00"), ...]

A job whose recorded outcome is not "ok" fails the run at once (naming the day, the job
and its summary or error), unless the test lists it in `allow`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.clock import frozen
from core.jobs import run_job
from core.models import Charge, Contract


@dataclass
class ChargeLine:
    contract_id: int
    account_id: int | None
    kind: str
    period_start: date
    amount: Decimal


@dataclass
class DayMoney:
    """One day's step: the job runs (id → {"status", "result", "error"}), the charges those
    runs wrote, and every contract's balance after them."""

    day: date
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: list[ChargeLine] = field(default_factory=list)
    balances: dict[int, Decimal] = field(default_factory=dict)

    def charged(self, contract_id: int | None = None, kind: str | None = None,
                period: date | None = None) -> Decimal:
        """The sum charged this step, for a contract / kind / period start if given."""
        return sum((c.amount for c in self.charges
                    if (contract_id is None or c.contract_id == contract_id)
                    and (kind is None or c.kind == kind)
                    and (period is None or c.period_start == period)),
                   start=Decimal("0.00"))


class BillingDays:
    """Runs `jobs` (job ids, in order) once per day at `at` (the operator's local time)."""

    def __init__(self, runtime, jobs: Iterable[str], at: time = time(0, 10),
                 timezone: str | None = None, allow: dict[str, set[str]] | None = None):
        self.runtime = runtime
        self.jobs = list(jobs)
        self.at = at
        self.zone = ZoneInfo(timezone or runtime.settings.timezone)
        self.allow = {job: set(statuses) for job, statuses in (allow or {}).items()}

    def run(self, first: date, days: int,
            before: Callable[[date], None] | None = None) -> list[DayMoney]:
        """Run `days` consecutive days from `first`; `before(day)` is called with the clock
        already set, before the day's jobs (to change the platform's counts, pay…)."""
        return [self.run_day(first + timedelta(days=n), before) for n in range(days)]

    def run_day(self, day: date, before: Callable[[date], None] | None = None) -> DayMoney:
        money = DayMoney(day)
        with frozen(datetime.combine(day, self.at, self.zone)):
            if before is not None:
                before(day)
            since = self._last_charge_id()
            for job_id in self.jobs:
                outcome = run_job(self.runtime, job_id, trigger="test")
                money.runs[job_id] = outcome
                allowed = self.allow.get(job_id, set()) | {"ok"}
                if outcome["status"] not in allowed:
                    raise AssertionError(
                        f"{day}: job {job_id} ended {outcome['status']!r} "
                        f"(allowed: {', '.join(sorted(allowed))}): "
                        f"{outcome.get('error') or outcome.get('summary') or outcome.get('result')}")
            self._read_money(money, since)
        return money

    def _last_charge_id(self) -> int:
        with self.runtime.session(actor="test") as session:
            return session.scalar(select(func.coalesce(func.max(Charge.id), 0)))

    def _read_money(self, money: DayMoney, since: int) -> None:
        with self.runtime.session(actor="test") as session:
            money.charges = [ChargeLine(*row) for row in session.execute(
                select(Charge.contract_id, Charge.account_id, Charge.kind, Charge.period_start,
                       Charge.amount).where(Charge.id > since).order_by(Charge.id))]
            money.balances = dict(session.execute(select(Contract.id, Contract.balance)).all())
