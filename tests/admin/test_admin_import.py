"""Customers → Import: the sample export uploaded, its dry run's report per line shown
with nothing written, then imported from the same page (audited, the file forgotten);
a manager without the money permissions is refused."""
from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.models import AuditEntry, Contract
from support import ROOT

SAMPLE = ROOT / "docs" / "samples" / "subscribers.csv"


def upload(client, data: bytes):
    return client.post("/admin/import/check", {"source": "1c", "file": (
        io.BytesIO(data), "subscribers.csv")}, content_type="multipart/form-data")


def outcomes(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-line="(\d+)" data-outcome="([a-z ]+)"', html)


@pytest.mark.sqlite_only
def test_upload_check_then_import(runtime, import_catalog, client, login_as, counts):
    before = counts()
    checked = upload(client, SAMPLE.read_bytes())
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200
    assert outcomes(html) == [("2", "created"), ("3", "created"), ("4", "created"),
                              ("5", "created"), ("6", "rejected"), ("7", "rejected"),
                              ("8", "rejected")]
    assert "no tariff named &#39;Home 1000&#39;" in html and "Nothing was written" in html
    assert counts() == before
    run = re.search(r'action="(/admin/import/run/[0-9a-f]{32})"', html)[1]
    done = client.post(run, {"source": "1c", "name": "subscribers.csv"})
    assert "Imported subscribers.csv: 4 created, 0 already imported, 3 rejected" in (
        done.get_data(as_text=True))
    with runtime.session() as s:
        assert s.scalar(select(Contract.balance).where(Contract.number == "M-0004")) == (
            Decimal("75.50"))
        entry = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "import.subscribers")).one()
        assert entry.actor == "manager:admin" and entry.changes["created"] == 4
    assert client.post(run, {"source": "1c"}).status_code == 404  # the file is forgotten
    assert outcomes(upload(client, SAMPLE.read_bytes()).get_data(as_text=True))[:4] == [
        (str(n), "already imported") for n in (2, 3, 4, 5)]
    assert "file: Choose a CSV file." in upload(client, b"").get_data(as_text=True)
    manager = login_as("manager")
    assert upload(manager, SAMPLE.read_bytes()).status_code == 403
