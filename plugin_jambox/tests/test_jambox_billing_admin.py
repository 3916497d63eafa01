"""The admin's list of billing events (JAMBOX → Billing events): the filters of SGT's
module (days, report, not invoiced yet), each event's customer, report, price and
invoice, the count and gross total; a bad filter is named over an empty list."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

from core import clock
from core.invoicing import invoice_period
from plugin_jambox.billing_import import import_events

URL = "/admin/jambox_billing_events/"


def events_on(html: str) -> list[str]:
    return re.findall(r'data-event="(\d+)"', html)


def test_the_events_list_with_its_filters(billing, admin_client):
    mine = billing.customer()
    unclaimed = billing.customer(link=False)
    billing.sms.customers[unclaimed[1]].data["cust_external_id"] = ""
    nov = billing.event(mine, date(2026, 11, 5), "65.00", group_id=111)
    dec = billing.event(mine, date(2026, 12, 2), "19.90", desc="HBO", group_id=222)
    stray = billing.event(unclaimed, date(2026, 11, 6), "95.00", group_id=111)
    import_events(billing.runtime, date(2026, 11, 1), date(2026, 12, 5))
    with clock.frozen(datetime(2026, 12, 1, 2, tzinfo=timezone.utc)):
        number = invoice_period(billing.runtime, date(2026, 11, 1)).first_number
    admin = admin_client()

    everything = admin.text(URL)
    assert events_on(everything) == [str(nov.id), str(stray.id), str(dec.id)]
    assert f">{number}</a>" in everything and "not invoiced" in everything
    assert "3 event(s), gross 179.90" in everything
    assert "none (external id —)" in everything  # no contract claims the stray one

    report = admin.text(URL + "?report=111")
    assert events_on(report) == [str(nov.id), str(stray.id)]
    waiting = admin.text(URL + "?uninvoiced=1")
    assert events_on(waiting) == [str(stray.id), str(dec.id)]
    assert "2 event(s), gross 114.90" in waiting
    days = admin.text(URL + f"?from=2026-12-01&to=2026-12-31&contract={mine[0].id}")
    assert events_on(days) == [str(dec.id)]


def test_a_bad_filter_is_named_over_an_empty_list(billing, admin_client):
    admin = admin_client()
    for query, said in (("?from=2026-13-01", "from: &#39;2026-13-01&#39; is not a day"),
                        ("?report=abc", "report: &#39;abc&#39; is not an id"),
                        ("?contract=99999999999999999999999", "contract:")):
        html = admin.text(URL + query)
        assert said in html and "No billing events." in html
