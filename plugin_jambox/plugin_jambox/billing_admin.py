"""The admin's list of billing events (menu JAMBOX → Billing events; SGT's manual 4.2):
filters by selling days, SGT's report id and "not invoiced yet" (and a contract), each
event with its customer, report, price and the invoice it landed on, the count and the
gross total of all that match, paged. Bad filters are said (naming the field) over an
empty list, never a 500."""
from __future__ import annotations

from flask import request
from flask_admin import BaseView, expose

from core import ValidationError
from plugin_jambox.admin import CATEGORY, JamboxView
from plugin_jambox.billing_list import EventFilter, count_events, list_events

PAGE = 100
FIELDS = ("from", "to", "report", "uninvoiced", "contract")


class BillingEventsView(JamboxView):
    @expose("/")
    def index(self):
        asked = {name: (request.args.get(name) or "").strip()[:40] for name in FIELDS}
        page = request.args.get("page", 1, type=int) or 1
        page = min(max(page, 1), 10**6)
        rows, total, count, problem = [], None, 0, None
        try:
            filters = EventFilter.of(asked["from"], asked["to"], asked["report"],
                                     asked["uninvoiced"], asked["contract"])
            with self.ctx.session() as session:
                count, total = count_events(session, filters)
                rows = list_events(session, filters, PAGE, (page - 1) * PAGE)
        except ValidationError as exc:
            problem = f"{exc.field}: {exc.reason}"
        pages = max(1, -(-count // PAGE))
        return self.render("jambox/billing_events.html", rows=rows, count=count, total=total,
                           asked=asked, page=page, pages=pages, problem=problem)


def views() -> list[BaseView]:
    return [BillingEventsView(name="Billing events", category=CATEGORY,
                              endpoint="jambox_billing_events")]
