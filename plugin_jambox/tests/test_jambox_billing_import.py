"""Importing SGT's billing events (SGT's manual 4.1): from the emulated SMS over a real
socket, in day windows read as a stream; idempotent by SMS event id over any number of
runs; a window that fails (lost answer, truncated reply, fault, an event that cannot be
read) keeps nothing and is fetched again by the next run."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import ValidationError
from plugin_jambox.billing_import import JOB_ID, import_events
from plugin_jambox.billing_models import BillingEvent
from plugin_jambox.emulator.billing import generate_events

D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)


def window_of(day: date):
    """A FaultProxy match: the billingEventsGet call whose window starts on `day`."""
    return lambda method, path, body: (b"billingEventsGet" in body
                                       and f"<string>{day}</string>".encode() in body)


def count(runtime) -> int:
    with runtime.session() as s:
        return s.scalar(select(func.count()).select_from(BillingEvent))


@pytest.fixture
def three_days(billing):
    """Two linked customers, 30 events over Nov 1-3 (10 a day)."""
    customers = [billing.customer() for _ in range(2)]
    generate_events(billing.sms, 30, D1, D3, [(number, str(contract.id), account)
                                              for contract, number, account in customers])
    return customers


def test_import_stores_every_event_once_with_its_contract(billing, three_days):
    report = import_events(billing.runtime, D1, D3)

    assert (report.windows, report.fetched, report.inserted, report.failed) == (3, 30, 30, [])
    assert report.outcome == "ok"
    assert billing.stored() == billing.in_sms()
    with billing.runtime.session() as s:
        owners = dict(s.execute(select(BillingEvent.cust_number, BillingEvent.contract_id)
                                .distinct()).all())
    assert owners == {str(number): contract.id for contract, number, _ in three_days}
    # SGT's prices kept exactly: 10 events of each package price
    total = sum(Decimal(e["be_gross"]) for e in billing.in_sms().values())
    with billing.runtime.session() as s:
        assert s.scalar(select(func.sum(BillingEvent.gross))) == total


def test_a_second_run_over_the_same_days_adds_nothing(billing, three_days):
    import_events(billing.runtime, D1, D3)
    again = import_events(billing.runtime, D1, D3)

    assert (again.fetched, again.inserted, again.unchanged, again.outcome) == (30, 0, 3, "ok")
    assert count(billing.runtime) == 30
    # the day windows: one call a day, each asked with the auth and "" for every report
    calls = billing.jb.calls("billingEventsGet")
    assert [args[:2] for _, args in calls[:3]] == [(str(d), str(d)) for d in (D1, D2, D3)]


def test_an_unchanged_answer_is_not_read_again_a_changed_one_is(billing, three_days):
    import_events(billing.runtime, D1, D3)
    billing.event(three_days[0], D2, "9.90", desc="Filmbox")  # SGT adds one to Nov 2

    again = import_events(billing.runtime, D1, D3)

    assert (again.unchanged, again.fetched, again.inserted) == (2, 31, 1)
    assert again.summary().endswith("31 read, 1 new, in 3 window(s) (2 unchanged since "
                                    "imported)")
    assert billing.stored() == billing.in_sms()
    assert import_events(billing.runtime, D1, D3).unchanged == 3


def test_an_answer_lost_halfway_is_fetched_again_by_the_next_run(billing, three_days,
                                                                 fault_proxy):
    proxy = fault_proxy(billing.jb.emulator.url)
    billing.jb.configure(sms_url=proxy.url)
    proxy.lose_answer(match=window_of(D2))

    first = import_events(billing.runtime, D1, D3)

    assert first.outcome == "partial"
    assert len(first.failed) == 1 and first.failed[0].startswith("2026-11-02..2026-11-02")
    stored = billing.stored()
    assert {e["be_selling_date"] for e in stored.values()} == {"2026-11-01", "2026-11-03"}
    assert len(stored) == 20

    second = import_events(billing.runtime, D1, D3)

    assert (second.outcome, second.inserted) == ("ok", 10)
    assert billing.stored() == billing.in_sms()  # none lost, none twice
    assert [c.fault for c in proxy.calls] == [None, "lose_answer", None, None, None, None]


def test_a_truncated_answer_keeps_nothing_of_its_window(billing, three_days, fault_proxy):
    """Batches of 2: the first events of the cut answer were written before the cut was
    met, and are rolled back with the window."""
    billing.runtime.plugin_configs["jambox"]["import_batch"] = 2
    proxy = fault_proxy(billing.jb.emulator.url)
    billing.jb.configure(sms_url=proxy.url)
    proxy.garble(match=window_of(D2))

    report = import_events(billing.runtime, D1, D3)

    assert report.outcome == "partial"
    assert "malformed reply" in report.failed[0] and "not complete XML" in report.failed[0]
    assert {e["be_selling_date"] for e in billing.stored().values()} == {"2026-11-01",
                                                                       "2026-11-03"}
    assert import_events(billing.runtime, D1, D3).inserted == 10
    assert billing.stored() == billing.in_sms()


def test_a_window_the_sms_sits_on_fails_after_the_events_timeout(billing, three_days,
                                                                fault_proxy):
    proxy = fault_proxy(billing.jb.emulator.url)
    billing.jb.configure(sms_url=proxy.url, events_timeout="1")
    proxy.hang(match=window_of(D2))

    report = import_events(billing.runtime, D1, D3)

    assert report.outcome == "partial"
    assert report.failed == ["2026-11-02..2026-11-02 (JAMBOX): billingEventsGet: no answer "
                             "within 1 s"]
    assert len(billing.stored()) == 20


def test_sgt_refusing_a_window_is_said_in_its_words(billing, three_days, fault_proxy):
    proxy = fault_proxy(billing.jb.emulator.url)
    billing.jb.configure(sms_url=proxy.url, password="wrong-password")

    report = import_events(billing.runtime, D1, D1)

    assert report.outcome == "failed"
    assert "Błąd autoryzacji" in report.failed[0]
    assert count(billing.runtime) == 0


def test_an_event_that_cannot_be_read_fails_its_window_naming_it(billing, three_days):
    bad = billing.event(three_days[0], D2, "19.999")  # three decimal places: no amount
    bad_id = bad.id

    report = import_events(billing.runtime, D1, D3)

    assert report.outcome == "partial"
    assert f"event {bad_id}: be_gross: '19.999' is not an amount" in report.failed[0]
    assert {e["be_selling_date"] for e in billing.stored().values()} == {"2026-11-01",
                                                                       "2026-11-03"}


def test_events_of_a_customer_linked_later_find_their_contract(billing):
    contract, number, account = customer = billing.customer(link=False)
    billing.sms.customers[number].data["cust_external_id"] = ""  # no external id either
    billing.event(customer, D1, "65.00")

    import_events(billing.runtime, D1, D1)
    with billing.runtime.session() as s:
        assert s.scalar(select(BillingEvent.contract_id)) is None

    from plugin_jambox import store
    with billing.runtime.session() as s:
        store.link_customer(s, contract.id, number)
    report = import_events(billing.runtime, D1, D1)

    assert (report.inserted, report.resolved_late) == (0, 1)
    with billing.runtime.session() as s:
        assert s.scalar(select(BillingEvent.contract_id)) == contract.id


def test_the_external_id_claims_an_unlinked_customer(billing):
    contract, number, account = customer = billing.customer(link=False)
    billing.event(customer, D1, "65.00")

    import_events(billing.runtime, D1, D1)

    with billing.runtime.session() as s:
        assert s.scalar(select(BillingEvent.contract_id)) == contract.id


@pytest.mark.parametrize("first, last, field, reason", [
    ("2026-11-31", "2026-12-01", "from", "is not a day"),
    ("2026/11/01", "2026-12-01", "from", "is not a day"),
    ("2026-11-05", "2026-11-01", "to", "is before"),
    ("2020-01-01", "2026-11-01", "from", "at most 400 days"),
    ("2026-11-01", str(date.today() + timedelta(days=2)), "to", "is in the future"),
])
def test_a_bad_period_is_refused_before_any_call(billing, first, last, field, reason):
    with pytest.raises(ValidationError) as refused:
        import_events(billing.runtime, first, last)
    assert refused.value.field == field and reason in str(refused.value)
    assert billing.jb.calls("billingEventsGet") == []


def test_the_nightly_job_imports_the_last_days_and_reports(billing):
    customer = billing.customer()
    today = date.today()
    billing.event(customer, today - timedelta(days=1), "65.00")
    billing.event(customer, today - timedelta(days=30), "95.00")  # older than days_back

    run = billing.runtime.context("jambox").run_job(JOB_ID)

    assert run["status"] == "ok"
    assert run["summary"].startswith(f"billing events {today - timedelta(days=7)}..{today}: "
                                     f"1 read, 1 new, in 8 window(s)")
    assert count(billing.runtime) == 1


# --- the command line -------------------------------------------------------------------------

def test_import_and_list_from_the_command_line(billing, three_days):
    contract = three_days[0][0]
    done = billing.cli("jambox", "import", "--from", "2026-11-01", "--to", "2026-11-03")
    assert done.returncode == 0, done.stderr
    assert "30 read, 30 new, in 3 window(s)" in done.stdout

    listed = billing.cli("jambox", "events", "--from", "2026-11-02", "--to", "2026-11-02",
                         "--contract", str(contract.id), "--uninvoiced")
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()[1:-1]
    mine = [e for e in billing.in_sms().values()
            if e["be_selling_date"] == "2026-11-02" and e["cust_external_id"] == str(contract.id)]
    assert len(rows) == len(mine) == 5
    assert listed.stdout.splitlines()[-1] == \
        f"5 event(s), gross {sum(Decimal(e['be_gross']) for e in mine):.2f}"

    refused = billing.cli("jambox", "import", "--from", "2026-11-03", "--to", "2026-11-01")
    assert refused.returncode == 1 and "to: 2026-11-01 is before 2026-11-03" in refused.stderr
    bad = billing.cli("jambox", "events", "--report", "abc")
    assert bad.returncode == 1 and "report: 'abc' is not an id" in bad.stderr
