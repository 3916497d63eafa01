"""The core's own jobs say how their run went, with the money they moved: the CDR intake
is partial when a file could not be taken or lines were rejected and failed when no file
could be taken; the monthly invoices are partial when some contracts' invoices failed
and failed when all did."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from core import clock
from core.clock import today
from core.jobs import run_job
from test_cdr_spool import Exploding, balance, drop
from test_invoicing import JUNE, LinesPlugin, at, charged_contract, invoice_of
from test_usage_rating import make_counter


@pytest.fixture
def exploding():
    plugin = Exploding()
    plugin.broken = False
    return plugin


@pytest.fixture
def lines():
    return LinesPlugin()


@pytest.fixture
def abonent_plugins(exploding, lines):
    return [("exploding", exploding), ("extras", lines)]


@pytest.fixture
def abonent_config():
    return {"cdr": {"settle_seconds": 60}}


def _intake(runtime) -> tuple[str, str]:
    outcome = run_job(runtime, "core.cdr_intake")
    return outcome["status"], outcome["summary"]


def test_cdr_intake_is_partial_or_failed_when_money_was_left_behind(runtime, factory,
                                                                     exploding):
    day = today("UTC") - timedelta(days=1)
    with clock.frozen(datetime.combine(day, time(12), timezone.utc)):
        counter = make_counter(runtime, factory)  # 3.00 per object, from yesterday
    assert _intake(runtime) == ("ok", "0 of 0 files taken, 0 lines charged 0.00, 0 rejected")

    drop(runtime, f"{day}.cdr", b"777;5;1;6\n999;5;1;1\n")  # 999: an ext_id nobody has
    assert _intake(runtime) == ("partial", "1 of 1 files taken, 1 lines charged 18.00, "
                                           "1 rejected")
    assert balance(runtime, counter.contract_id) == Decimal("-18.00")

    exploding.broken = True
    drop(runtime, f"{today('UTC')}.cdr", b"777;5;1;1\n")
    assert _intake(runtime) == (
        "failed", f"0 of 1 files taken, 0 lines charged 0.00, 0 rejected; 1 not taken: "
                  f"Wialon_1/{today('UTC')}.cdr: RuntimeError: pricing service down")
    assert balance(runtime, counter.contract_id) == Decimal("-18.00")

    exploding.broken = False  # the file waited in work/ and is taken now
    assert _intake(runtime) == ("ok", "1 of 1 files taken, 1 lines charged 3.00, 0 rejected")
    assert balance(runtime, counter.contract_id) == Decimal("-21.00")


def test_invoices_are_partial_when_some_contracts_fail_and_failed_when_all_do(
        runtime, factory, lines):
    good = charged_contract(runtime, factory, "18.00")
    bad = charged_contract(runtime, factory, "7.00")

    def invoices():
        with clock.frozen(at(JUNE, 2)):  # the 1st at 02:00: May is invoiced
            outcome = run_job(runtime, "core.invoices")
        return outcome["status"], outcome["summary"]

    lines.failing |= {good.id, bad.id}
    assert invoices() == ("failed", f"2024-05: 0 issued, 0 already issued, 2 failed "
                                    f"(contract {good.id}: plugin extras: platform down, …)")
    lines.failing.discard(good.id)
    assert invoices() == ("partial", f"2024-05: 1 issued, 0 already issued, 1 failed "
                                     f"(contract {bad.id}: plugin extras: platform down)")
    assert invoice_of(runtime, good.id).gross == Decimal("18.00")
    assert invoice_of(runtime, bad.id) is None
    lines.failing.clear()
    assert invoices() == ("ok", "2024-05: 1 issued, 1 already issued, 0 failed")
    assert invoice_of(runtime, bad.id).gross == Decimal("7.00")
