"""The admin's invoice-run form refuses a month that has not ended, naming the field,
unless the operator ticks "close the month early"."""
from __future__ import annotations

import html

from sqlalchemy import select

from core.charging import charge_day
from core.clock import today
from core.models import AuditEntry, Invoice


def test_the_current_month_needs_close_early(client, runtime, factory):
    this_month = today("UTC").replace(day=1)
    account = factory.account(login="early", start_on=this_month)
    with runtime.session() as s:
        charge_day(s, this_month)
    form = {"period": f"{this_month:%Y-%m}", "contract": account.contract.number}
    refused = html.unescape(client.post("/admin/invoice/issue", form).get_data(as_text=True))
    assert f"{this_month:%Y-%m} has not ended" in refused
    with runtime.session() as s:
        assert s.scalars(select(Invoice)).all() == []
    issued = client.post("/admin/invoice/issue", {**form, "close_early": "y"})
    assert '"issued": 1' in html.unescape(issued.get_data(as_text=True))
    with runtime.session() as s:
        assert s.scalars(select(AuditEntry.object_id).where(
            AuditEntry.action == "close_early")).all() == [f"{this_month:%Y-%m}"]
