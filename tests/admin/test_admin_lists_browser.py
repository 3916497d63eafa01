"""A manager's journey in Chromium through the lists and reports: the accounts in debt
(the list's filter), two of them ticked and blocked from "With selected" with a reason,
the summary of the run; then Reports → debtors, downloaded as XLSX."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.models import Contract
from tests.admin.test_admin_browser import log_in

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

ACCOUNTS = (("anna", "-50.00"), ("boris", "-10.00"), ("clara", "20.00"))


@pytest.mark.sqlite_only
def test_filter_bulk_block_and_report_download(page, runtime, factory, set_up, manager,
                                              password):
    made = {}
    for login, balance in ACCOUNTS:
        made[login] = factory.account(login=login)
        with runtime.session() as s:
            s.get(Contract, made[login].contract_id).balance = Decimal(balance)
    manager("maria", "manager")
    log_in(page, "maria", password)
    page.goto("/admin/account/")
    page.click("text=Add Filter")
    page.click("a.filter:has-text('Balance')")
    page.fill("input.filter-val", "0")
    page.click("button:has-text('Apply')")
    page.wait_for_url("**flt*")  # the unfiltered list has its row count too
    assert page.inner_text("[data-total='rows']") == "2"
    assert "clara" not in page.inner_text("table.model-list")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "29-accounts-in-debt.png"), full_page=True)
    page.check("input.action-rowtoggle")
    page.click("#bulk-actions")
    page.click("#bulk-block")
    assert "anna" in page.inner_text("#bulk-rows") and "boris" in page.inner_text("#bulk-rows")
    page.fill("#reason", "unpaid")
    page.click("#bulk-confirm")
    assert page.inner_text("#bulk-done").startswith("Done: 2")
    page.screenshot(path=str(SHOTS / "30-bulk-block-summary.png"), full_page=True)
    assert page.questions == ["Block: 2 account(s)?"]
    page.click("text=Reports")
    page.click("#report-tab-debtors")
    assert "60.00" in page.inner_text("#report-table .report-total")
    page.screenshot(path=str(SHOTS / "31-report-debtors.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#download-xlsx")
    with open(download.value.path(), "rb") as workbook:
        rows = [[c.value for c in r] for r in load_workbook(workbook).active.iter_rows()]
    assert rows[-1] == ["total", 2, 60, None, None, None]
