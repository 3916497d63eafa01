"""The small value types plugins return from hooks (jobs, invoice lines, usage, panels…)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Callable


@dataclass(frozen=True)
class JobSpec:
    """A scheduled job: `func(ctx)` returns a JSON-able dict kept as the run's result;
    its "outcome" (ok / partial / failed, default ok) is the run's status and its
    "summary" the one line an operator reads (see core.jobs).

    `cron` holds APScheduler cron fields (e.g. {"hour": 3, "minute": 30}), in the
    operator's time zone.
    """

    id: str
    func: Callable[[Any], Any]
    cron: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class InvoiceLineDraft:
    """A line a plugin adds to an invoice. `amount` is in the operator's price convention
    (VAT included when `operator.prices_include_vat`, else net); `vat_rate` overrides the
    operator's rate for this line."""

    description: str
    amount: Decimal
    quantity: Decimal = Decimal(1)
    unit: str | None = None
    vat_rate: Decimal | None = None


@dataclass(frozen=True)
class UsageDraft:
    """A measured quantity for an ext_id on a day; `key` makes it idempotent."""

    key: str
    source: str
    ext_id: str
    sensor_type_id: int
    value: Decimal
    day: date
    unit_id: int | None = None


@dataclass(frozen=True)
class Panel:
    """What a plugin shows on the account card: a title and (label, value) rows, plus
    optional tables given as (caption, header, rows)."""

    title: str
    rows: list[tuple[str, Any]] = field(default_factory=list)
    tables: list[tuple[str, list[str], list[list[Any]]]] = field(default_factory=list)


@dataclass
class ReconcileReport:
    """Drift between a platform and the billing: each item says what differs and whether
    it was fixed."""

    plugin: str
    checked: int = 0
    drift: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, account_id: int | None, kind: str, detail: str, fixed: bool = False) -> None:
        self.drift.append({"account_id": account_id, "kind": kind, "detail": detail,
                           "fixed": fixed})
