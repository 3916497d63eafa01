"""What the big lists (accounts, contracts, payments) share: the row and page count and money
totals of the listed set, a CSV export streamed from the database, and the filters on
debt, state and agent.

Totals: Flask-Admin counts a list's rows with one query (`get_count_query`, filtered and
searched like the list) and reads it with `.scalar()`; `TotalsQuery` keeps that filtered
query, so the view sums its money columns over exactly the same rows (`totals`) with one
more aggregate query.

An unfiltered list is a million rows: on PostgreSQL its count is the planner's estimate
(pg_class.reltuples, kept by ANALYZE and autovacuum), shown as "about", instead of a
COUNT(*) that reads the whole table; its money totals, an aggregate of every row that does
not fit the 300 ms budget at that size (the accounts' 540 ms: bench/README.md, admin), are
computed at most once a minute per process and database and shown with the time they were
computed (`EVERYTHING_SECONDS`). On SQLite (small databases) and on a table never
analyzed, the unfiltered list is counted and totalled exactly, like a filtered one.

The export iterates the list's own query in batches (`yield_per`) and writes each row
through core.csvout (no formula runs in a spreadsheet), so a million rows never sit in
memory.
"""
from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation
from itertools import islice

from flask import Response, g, has_request_context, stream_with_context
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select, text
from sqlalchemy.orm import Query
from werkzeug.utils import secure_filename

from admin.db import request_session
from core import csvout
from core.clock import now
from core.models import Account, Block, Contract
from core.state import PRECEDENCE, is_open

EXPORT_BATCH = 1000
EVERYTHING_SECONDS = 60
_everything: dict[tuple[str, str], tuple[object, list]] = {}  # (database, list) -> (at, totals)


class TotalsQuery(Query):
    """The list's count query; reading its count keeps it on `g` for the totals. The
    queries the totals derive from it (clones made once it is `counted`) read as a plain
    Query's: a sum is never taken for the count."""

    counted = False
    table = ""

    def scalar(self):
        if self.counted:
            return super().scalar()
        self.counted = True
        g.list_filtered = self
        return self.rows()

    def rows(self) -> int:
        return super().scalar()


class EstimatedCount(TotalsQuery):
    """An unfiltered list's count query: the planner's estimate of the table's rows on
    PostgreSQL once the table has been analyzed (reltuples ≥ 0), else the exact count.
    An estimate is marked on `g` (`list_estimated`) for the template and the totals."""

    def rows(self) -> int:
        if self.session.get_bind().dialect.name == "postgresql":
            estimate = self.session.execute(
                text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                {"t": self.table}).scalar()
            if estimate is not None and estimate >= 0:
                g.list_estimated = True
                return int(estimate)
        return super().rows()


class ListTotals:
    """Mixin for a GuardedModelView: counted pages, totals, streamed CSV export."""

    simple_list_pager = False
    can_export = True
    export_types = ["csv"]
    list_template = "abonent/model_list.html"

    def totals(self, filtered: Query) -> list[tuple[str, Decimal]]:
        """(label, sum) of the money columns over the filtered rows."""
        return []

    def get_count_query(self):
        """The list's count (and its totals): exact for a filtered or searched list, an
        estimate for the unfiltered one on PostgreSQL (`EstimatedCount`)."""
        args = self._get_list_extra_args()
        kind = TotalsQuery if args.search or args.filters else EstimatedCount
        query = kind([func.count()], self.session()).select_from(self.model)
        query.table = self.model.__table__.name
        return query

    def _apply_search(self, query, count_query, joins, count_joins, term):
        condition = self.search_filter(term.strip())
        counted = count_query.filter(condition) if count_query is not None else None
        return query.filter(condition), counted, joins, count_joins

    def render(self, template, **kwargs):
        if template == self.list_template and "list_filtered" in g:
            filtered = g.pop("list_filtered")
            kwargs["count_estimated"] = g.pop("list_estimated", False)
            if kwargs["count_estimated"]:
                kwargs["totals_at"], kwargs["list_totals"] = self.totals_of_everything(filtered)
            else:
                kwargs["list_totals"] = self.totals(filtered)
        return super().render(template, **kwargs)

    def totals_of_everything(self, unfiltered: Query) -> tuple[object, list]:
        """The unfiltered list's totals, computed at most once a minute per process and
        database (the aggregate of a million rows is over the page's budget) with the
        time they were computed."""
        key = (str(self.session.get_bind().url), self.endpoint)
        at, totals = _everything.get(key, (None, None))
        if at is None or (now() - at).total_seconds() >= EVERYTHING_SECONDS:
            at, totals = now(), self.totals(unfiltered)
            _everything[key] = at, totals
        return at, totals

    def prepare_rows(self, session, rows: list) -> None:
        """Read what the formatters of these rows need: one query for a page of the list
        or a batch of the export, never one a row. `session` is the rows' own: a streamed
        export runs after the request's scoped session is out of reach."""

    def get_list(self, *args, **kwargs):
        count, data = super().get_list(*args, **kwargs)
        if kwargs.get("execute", True):
            self.prepare_rows(self.session, data)
        return count, data

    def _export_csv(self, return_url):
        args = self._get_list_extra_args()
        sort = self._get_column_by_idx(args.sort)
        _count, query = self.get_list(0, sort[0] if sort else None, args.sort_desc, args.search,
                                      args.filters, execute=False, page_size=0)
        columns = self._export_columns
        buffer = io.StringIO()
        writer = csvout.writer(buffer)

        def taken() -> str:
            text = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            return text

        def lines():
            writer.writerow([str(title) for _name, title in columns])
            yield taken()
            rows = iter(query.yield_per(EXPORT_BATCH))
            try:
                while batch := list(islice(rows, EXPORT_BATCH)):
                    self.prepare_rows(query.session, batch)
                    writer.writerows([self.get_export_value(row, name)
                                      for name, _title in columns] for row in batch)
                    yield taken()
            finally:  # the request's own end no longer reaches this session
                query.session.close()

        name = secure_filename(self.get_export_name("csv"))
        return Response(stream_with_context(lines()), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}"})


def row_options(model):
    """Filter options read when the list is shown (tariffs, agents, services); none while
    the view is being built, outside a request."""
    def read():
        if not has_request_context():
            return []
        query = select(model.id, model.name).order_by(model.name)
        return [(str(i), name) for i, name in request_session.execute(query)]
    return read


def money_sums(query: Query, column) -> list[tuple[str, Decimal]]:
    """The sum of `column` and of its negative part (the debt) over the query's rows."""
    total, debt = query.with_entities(
        func.coalesce(func.sum(column), 0),
        func.coalesce(func.sum(case((column < 0, -column), else_=0)), 0)).one()
    return [(str(_l("Balance")), Decimal(total)), (str(_l("Debt")), Decimal(debt))]


class ValueFilter(BaseSQLAFilter):
    """A filter whose value is an amount ("-100", "0"): anything else is refused as
    invalid (Flask-Admin says so and lists unfiltered), never sent to the database."""

    def validate(self, value) -> bool:
        try:
            Decimal(str(value).strip().replace(",", "."))
        except (InvalidOperation, ValueError):
            return False
        return len(str(value)) <= 20

    def clean(self, value) -> Decimal:
        return Decimal(str(value).strip().replace(",", "."))

    def operation(self):
        return _l("below")


class BalanceBelow(ValueFilter):
    """Contracts with a balance below the amount (0: in debt); `contracts` turns the
    condition on contracts into one on the list's rows."""

    def __init__(self, column, name, contracts=lambda condition: condition, **kw):
        super().__init__(column, name, **kw)
        self.contracts = contracts

    def apply(self, query, value, alias=None):
        return query.filter(self.contracts(Contract.balance < value))


def accounts_on_contracts(condition):
    """On the accounts list: the account's contract meets `condition`."""
    return Account.contract_id.in_(select(Contract.id).where(condition))


class AgentFilter(BaseSQLAFilter):
    """Rows of contracts that have an account on the agent (contracts, payments)."""

    def validate(self, value) -> bool:
        return str(value).isdecimal() and len(str(value)) < 19

    def clean(self, value) -> int:
        return int(value)

    def apply(self, query, value, alias=None):
        return query.filter(self.column.in_(
            select(Account.contract_id).where(Account.agent_id == value)))

    def operation(self):
        return _l("equals")


def _open(source: str):
    return select(Block.id).where(Block.account_id == Account.id, Block.source == source,
                                  is_open(now())).exists()


def state_condition(state: str):
    """SQL: the account's effective state (core.state) is `state`, or it is in the trash."""
    live = Account.trashed_at.is_(None)
    if state == "trash":
        return ~live
    if state == "active":
        return and_(live, ~select(Block.id).where(Block.account_id == Account.id,
                                                  is_open(now())).exists())
    stronger = PRECEDENCE[:PRECEDENCE.index(state)]
    return and_(live, _open(state), *[~_open(source) for source in stronger])


class StateFilter(BaseSQLAFilter):
    """Accounts in an effective state (the strongest open block), or in the trash."""

    def validate(self, value) -> bool:
        return value in ("active", "trash", *PRECEDENCE)

    def apply(self, query, value, alias=None):
        return query.filter(state_condition(value))

    def operation(self):
        return _l("is")
