"""Customers → Import: in Chromium, the sample export uploaded, its dry run's report per
line shown with nothing written, then imported from the same page (audited, the file
forgotten); a second upload finds every line already imported, an empty one is refused
naming the file, and a manager without the money permissions is refused."""
from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.models import AuditEntry, Contract
from support import ROOT
from tests.admin.test_admin_browser import log_in, shot

SAMPLE = ROOT / "docs" / "samples" / "subscribers.csv"


def outcomes(page) -> list[tuple[str, str]]:
    return [(row.get_attribute("data-line"), row.get_attribute("data-outcome"))
            for row in page.locator("tr.import-line").all()]


@pytest.mark.sqlite_only
def test_upload_check_then_import(page, runtime, import_catalog, set_up, password, counts):
    log_in(page, "admin", password)
    page.goto("/admin/import/")
    before = counts()
    page.set_input_files("#import-file", str(SAMPLE))
    page.fill("#import-source", "1c")
    page.click("#import-check")
    assert outcomes(page) == [("2", "created"), ("3", "created"), ("4", "created"),
                              ("5", "created"), ("6", "rejected"), ("7", "rejected"),
                              ("8", "rejected")]
    assert "no tariff named 'Home 1000'" in page.inner_text("#import-report")
    assert "Nothing was written" in page.inner_text("#import-summary")
    shot(page, "import-dry-run")
    assert counts() == before
    page.click("#import-go")
    assert "Imported subscribers.csv: 4 created, 0 already imported, 3 rejected" in (
        page.inner_text("#import-summary"))
    with runtime.session() as s:
        assert s.scalar(select(Contract.balance).where(Contract.number == "M-0004")) == (
            Decimal("75.50"))
        entry = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "import.subscribers")).one()
        assert entry.actor == "manager:admin" and entry.changes["created"] == 4


def upload(client, data: bytes):
    return client.post("/admin/import/check", {"source": "1c", "file": (
        io.BytesIO(data), "subscribers.csv")}, content_type="multipart/form-data")


@pytest.mark.sqlite_only
def test_import_refusals(import_catalog, client, login_as):
    checked = upload(client, SAMPLE.read_bytes()).get_data(as_text=True)
    run = re.search(r'action="(/admin/import/run/[0-9a-f]{32})"', checked)[1]
    assert client.post(run, {"source": "1c", "name": "subscribers.csv"}).status_code == 200
    assert client.post(run, {"source": "1c"}).status_code == 404  # the file is forgotten
    again = upload(client, SAMPLE.read_bytes()).get_data(as_text=True)
    assert re.findall(r'data-line="(\d+)" data-outcome="already imported"', again) == [
        "2", "3", "4", "5"]
    assert "file: Choose a CSV file." in upload(client, b"").get_data(as_text=True)
    assert upload(login_as("manager"), SAMPLE.read_bytes()).status_code == 403
