"""The home page: charges and payments per day for the last 30 days, accounts by
effective state, failing deliveries per plugin, and the jobs whose last run failed or was
partial. The figures are aggregate queries over big tables, so they are kept for five
minutes (the page says as of when; "refresh" asks again); the jobs are not.
"""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import abort, current_app, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Date, case, cast, func, select

from admin.charts import daily_bars, stacked_bars
from admin.db import manager_session, runtime
from admin.formatting import STATE_CLASSES, STATE_TITLES
from admin.views.base import SAFE_METHODS
from core.charging import day_start
from core.clock import now, today
from core.jobs import FAILED, PARTIAL, job_specs, last_runs, summary_of
from core.models import Account, Block, Charge, JobRun, Payment
from core.state import ACTIVE, PRECEDENCE, is_open
from plugins import outbox

DAYS = 30
KEEP_SECONDS = 300
COLOURS = {"charges": "#e67e22", "payments": "#2e86c1", "active": "#28a745",
           "balance": "#ffc107", "admin": "#dc3545", "voluntary": "#17a2b8",
           "disabled": "#343a40", "trash": "#adb5bd", "failing": "#ffc107", "dead": "#dc3545"}


def _local_day(session, column, timezone: str):
    """The day of a UTC timestamp in the operator's time zone, in SQL."""
    if session.bind.dialect.name == "postgresql":
        return cast(func.timezone(timezone, column), Date)
    offset = datetime.now(ZoneInfo(timezone)).utcoffset().total_seconds() // 60
    return func.date(column, f"{int(offset):+d} minutes")


def per_day(session, timezone: str) -> tuple[list[date], dict[str, list[Decimal]]]:
    last = today(timezone)
    days = [last - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    charged = dict(session.execute(
        select(Charge.period_start, func.sum(Charge.amount))
        .where(Charge.period_start >= days[0]).group_by(Charge.period_start)).all())
    day = _local_day(session, Payment.received_at, timezone)
    paid = dict(session.execute(
        select(day, func.sum(Payment.amount))
        .where(Payment.received_at >= day_start(days[0], timezone),
               Payment.kind.in_(("payment", "reversal")))  # money received, less storno
        .group_by(day)).all())

    def series(rows):
        by_day = {date.fromisoformat(str(k)[:10]): Decimal(str(v)) for k, v in rows.items() if k}
        return [by_day.get(d, Decimal(0)) for d in days]
    return days, {"charges": series(charged), "payments": series(paid)}


def accounts_by_state(session) -> dict[str, int]:
    """Accounts per effective state (the strongest open block), plus those in the trash."""
    rank = case(*[(Block.source == s, i) for i, s in enumerate(PRECEDENCE)])
    strongest = (select(Block.account_id, func.min(rank).label("rank"))
                 .join(Account, Account.id == Block.account_id)
                 .where(is_open(now()), Account.trashed_at.is_(None))
                 .group_by(Block.account_id).subquery())
    counts = {PRECEDENCE[r]: n for r, n in session.execute(
        select(strongest.c.rank, func.count()).group_by(strongest.c.rank))}
    trashed = Account.trashed_at.is_not(None)
    live, in_trash = session.execute(select(func.count().filter(~trashed),
                                            func.count().filter(trashed))).one()
    return {ACTIVE: live - sum(counts.values()), **counts, "trash": in_trash}


def failing_by_plugin(session) -> dict[str, dict[str, int]]:
    totals = outbox.counts(session)
    plugins = sorted({p for p, _ in totals})
    return {p: {"failing": totals.get((p, "failing"), 0), "dead": totals.get((p, "dead"), 0)}
            for p in plugins}


def jobs_not_ok() -> list[tuple[str, JobRun, str]]:
    """(job id, last run, its one line) of each registered job whose last run failed or
    was partial: the dashboard marks them red or amber. Not cached with the figures: a
    failed night must show at once."""
    specs = job_specs(runtime())  # before the session: a plugin's hook may open its own
    with manager_session() as session:
        runs = last_runs(session)
    return [(job_id, run, summary_of(run)) for job_id, run in sorted(runs.items())
            if job_id in specs and run.status in (FAILED, PARTIAL)]


def figures() -> dict:
    timezone = runtime().settings.timezone
    with manager_session() as session:
        days, daily = per_day(session, timezone)
        return {"days": days, "daily": daily, "states": accounts_by_state(session),
                "failing": failing_by_plugin(session), "at": now()}


def _cached_figures(refresh: bool) -> dict:
    state = current_app.extensions["abonent_admin"]
    kept = state.get("dashboard")
    if refresh or kept is None or time.monotonic() - kept[0] > KEEP_SECONDS:
        kept = state["dashboard"] = (time.monotonic(), figures())
    return kept[1]


class DashboardView(AdminIndexView):
    """Every manager gets the home page; the figures need `dashboard:view`."""

    def __init__(self):
        super().__init__(name=_l("Dashboard"), endpoint="admin", url="/admin")

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def _handle_view(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if request.method not in SAFE_METHODS:
            abort(403)
        return None

    def _run_view(self, fn, *args, **kwargs):
        return fn(self, *args, **kwargs)

    @expose("/")
    def index(self):
        jobs = jobs_not_ok() if current_user.can("jobs:view") else None
        if not current_user.can("dashboard:view"):
            return self.render("abonent/dashboard.html", data=None, jobs=jobs)
        data = _cached_figures(bool(request.args.get("refresh")))
        charts = {
            "daily": daily_bars(data["days"], [
                (str(_l("charges")), COLOURS["charges"], data["daily"]["charges"]),
                (str(_l("payments")), COLOURS["payments"], data["daily"]["payments"])]),
            "states": stacked_bars([(str(STATE_TITLES[s]), [(s, COLOURS[s], n)])
                                    for s, n in data["states"].items()]),
            "failing": stacked_bars([(p, [(str(_l("failing")), COLOURS["failing"], n["failing"]),
                                          (str(_l("dead")), COLOURS["dead"], n["dead"])])
                                     for p, n in data["failing"].items()]),
        }
        return self.render("abonent/dashboard.html", data=data, charts=charts, colours=COLOURS,
                           state_classes=STATE_CLASSES, jobs=jobs)
