"""The Reports menu: each report of core.reports on a page with its period, a chart where
one helps, and its CSV and XLSX downloads (the same rows as `abonent report`).

The page reads with GET only (a period is part of the URL, so a report can be bookmarked
and sent to a colleague); reading any report needs `reports:view`. A bad period is
named next to its picker, never a 500.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Callable

from flask import Response, abort, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from admin.charts import stacked_bars
from admin.db import manager_session
from admin.forms import reason
from admin.views.base import GuardedView
from core import reports
from core.clock import today
from core.errors import ValidationError
from core.services.dates import operator_zone
from core.xlsx import render_xlsx

TITLES = {"payments": _l("Payments by month, source and manager"),
          "debtors": _l("Debtors with days overdue"),
          "blocked": _l("Blocked accounts by reason"),
          "consumption": _l("Consumption by service and agent"),
          "revenue": _l("Revenue by month"),
          "subscribers": _l("New and lost subscribers (contracts)")}
COLUMNS = {"month": _l("Month"), "kind": _l("Kind"), "source": _l("Source"),
           "manager": _l("Manager"), "count": _l("Count"), "amount": _l("Amount"),
           "contract": _l("Contract"), "subscriber": _l("Subscriber"), "debt": _l("Debt"),
           "credit_limit": _l("Credit limit"), "days_overdue": _l("Days overdue"),
           "below_limit_since": _l("Below the limit since"), "reason": _l("Reason"),
           "agent": _l("Agent"), "accounts": _l("Accounts"), "contracts": _l("Contracts"),
           "service": _l("Service"), "usage_records": _l("Usage records"),
           "usage_quantity": _l("Measured"), "charges": _l("Charges"),
           "charged": _l("Charged"), "refunded": _l("Refunded"), "revenue": _l("Revenue"),
           "received": _l("Received"), "new_contracts": _l("New"),
           "lost_contracts": _l("Lost"), "net": _l("Net")}
GREEN, RED, BLUE = "#28a745", "#dc3545", "#2e86c1"
#: the most rows a page shows (the debtors of a big operator are many): the downloads
#: carry them all
SHOWN = 500


def _rows(report: reports.Report) -> list[list]:
    return [row for row in report.rows if row[0] != "total"]


def _by(labels: tuple[int, ...], value: int, colour: str = BLUE
        ) -> Callable[[reports.Report], Markup]:
    """A chart of one bar per row: its label columns and its (non-negative) value."""
    def chart(report):
        return stacked_bars([(" · ".join(str(row[i]) for i in labels if row[i]) or "—",
                              [(str(COLUMNS[report.header[value]]), colour,
                                max(row[value] or 0, 0))])
                             for row in _rows(report)])
    return chart


def _subscribers(report: reports.Report) -> Markup:
    """Two bars a month, new and lost (stacked, their sum would read as a figure)."""
    new, lost = str(_l("New")), str(_l("Lost"))
    return stacked_bars([bar for row in _rows(report) for bar in (
        (f"{row[0]} {new}", [(new, GREEN, row[1])]), (f"{row[0]} {lost}", [(lost, RED, row[2])]))])


def _payments(report: reports.Report) -> Markup:
    received: dict[str, Decimal] = {}
    for month, kind, _source, _manager, _count, amount in _rows(report):
        if kind in ("payment", "reversal"):
            received[month] = received.get(month, Decimal(0)) + amount
    return stacked_bars([(month, [(str(_l("received")), BLUE, max(amount, 0))])
                         for month, amount in received.items()])


#: each report's chart (a report of long lists, the debtors, has none)
CHARTS: dict[str, Callable[[reports.Report], Markup]] = {
    "payments": _payments, "blocked": _by((0, 1), 2, RED), "consumption": _by((0, 1), 5),
    "revenue": _by((0,), 3, GREEN), "subscribers": _subscribers}


class ReportsView(GuardedView):
    area = "reports"

    def _period(self) -> tuple[str | None, str | None]:
        return request.args.get("from") or None, request.args.get("to") or None

    def _build(self, name: str) -> tuple[reports.Report, str | None, str | None]:
        """The report with the period it covers (this month so far when none is given)."""
        if name not in reports.REPORTS:
            abort(404, description=_("There is no report %(name)s.", name=name[:40]))
        first, last = (None, None) if name in reports.TODAY else self._period()
        with manager_session() as session:
            if name not in reports.TODAY and first is None and last is None:
                day = today(operator_zone(session))
                first, last = day.replace(day=1).isoformat(), day.isoformat()
            return reports.build(session, name, first, last), first, last

    @expose("/")
    def index(self):
        return self.show("payments")

    @expose("/<report>")
    def show(self, report: str):
        """The report `report` (a name of core.reports) for the period in the URL."""
        built, error = None, None
        first, last = self._period()
        try:
            built, first, last = self._build(report)
        except ValidationError as exc:
            error = (exc.field, reason(exc))
        chart = CHARTS.get(report) if built is not None and built.rows else None
        rows = built.rows if built is not None else []
        shown = rows if len(rows) <= SHOWN + 1 else [*rows[:SHOWN], rows[-1]]
        return self.render("abonent/report.html", name=report, titles=TITLES, columns=COLUMNS,
                           report=built, rows=shown, hidden=len(rows) - len(shown),
                           error=error, first=first, last=last,
                           today_only=report in reports.TODAY,
                           chart=chart(built) if chart else None,
                           is_money=lambda v: isinstance(v, Decimal),
                           is_day=lambda v: isinstance(v, date))

    @expose("/<report>.<fmt>")
    def download(self, report: str, fmt: str):
        """The report as a CSV or XLSX file named after it and its period."""
        name = report
        if fmt not in ("csv", "xlsx"):
            abort(404)
        try:
            report, first, last = self._build(name)
        except ValidationError as exc:
            abort(400, description=f"{exc.field}: {reason(exc)}")
        period = "" if name in reports.TODAY else f"_{first}_{last}"
        filename = f"{name}{period}.{fmt}"
        if fmt == "csv":
            return Response(reports.render_csv(report), mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{filename}"'})
        return Response(render_xlsx(report), headers={
            "Content-Disposition": f'attachment; filename="{filename}"'},
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
