"""The Reports menu: a report's page with its period and figures, its XLSX download with
the same money, a bad period named next to its picker, a long report cut on the page
(not in the downloads), and no page without `reports:view`."""
from __future__ import annotations

import io
from decimal import Decimal as D
from datetime import date, datetime, timezone

import pytest
from openpyxl import load_workbook

from admin.views import reports as report_pages
from core import clock
from core.models import Contract
from core.reports import REPORTS


@pytest.mark.sqlite_only
def test_report_page_and_download(login_as, factory, pay):
    contract = factory.contract()
    with clock.frozen(datetime(2026, 10, 30, 9, tzinfo=timezone.utc)):
        pay(contract, "1234.50", source="bank")
        pay(contract, "10.00", source="cash")
    client = login_as("read-only")
    page = client.text("/admin/reports/payments?from=2026-10-01&to=2026-10-31")
    assert "1,234.50" in page and 'id="report-chart"' in page and "1,244.50" in page
    response = client.get("/admin/reports/payments.xlsx?from=2026-10-01&to=2026-10-31")
    assert response.status_code == 200
    rows = [[c.value for c in row] for row in
            load_workbook(io.BytesIO(response.data)).active.iter_rows()]
    assert rows[-1] == ["total", "payment", None, None, 2, 1244.5]
    refused = client.text(f"/admin/reports/payments?from=2026-10-01&to={date(2999, 1, 1)}")
    assert "Refused — to:" in refused and "is after today" in refused
    for name in REPORTS:  # every tab answers, with the period or without one
        assert f'data-report="{name}"' in client.text(
            f"/admin/reports/{name}?from=2026-10-01&to=2026-10-31")
    assert client.get("/admin/reports/owed").status_code == 404
    assert login_as("cashier").get("/admin/reports/debtors").status_code == 403


@pytest.mark.sqlite_only
def test_a_long_report_is_cut_on_the_page_not_in_the_download(login_as, factory, runtime,
                                                              monkeypatch):
    for debt in ("-30.00", "-20.00", "-10.00"):
        contract = factory.contract()
        with runtime.session() as s:
            s.get(Contract, contract.id).balance = D(debt)
    monkeypatch.setattr(report_pages, "SHOWN", 1)
    client = login_as("read-only")
    page = client.text("/admin/reports/debtors")
    assert "30.00" in page and "20.00" not in page and "60.00" in page  # first, total
    assert "2 more rows are in the CSV and XLSX downloads" in page
    assert len(client.get("/admin/reports/debtors.csv").data.splitlines()) == 5
