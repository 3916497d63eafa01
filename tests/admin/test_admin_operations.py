"""Operations pages: the outbox (failing, dead, retry, filters), the plugins with masked
configuration, the dashboard's charts, the audit log, scheduled jobs and invoices."""
from __future__ import annotations

import html
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import Field, JobSpec
from core.blocking import set_block
from core.charging import charge_day
from core.clock import today
from core.clock import now
from core.jobs import run_job
from core.models import AuditEntry, Charge, Delivery, Invoice, JobRun
from core.services.payments import record_payment
from plugins.outbox import Outbox
from plugins.testing import RecordingPlugin


class Operations:
    """A plugin with secret settings and three jobs: one ends ok, one fails, one is
    partial."""

    def abonent_config_schema(self):
        return [Field("url", "url"), Field("token", secret=True)]

    def abonent_jobs(self, runtime):
        return [JobSpec("ops.echo", lambda ctx: {"said": "hello"}, {"hour": 3}, "Says hello"),
                JobSpec("ops.fail", lambda ctx: 1 / 0, {"hour": 4}, "Always fails"),
                JobSpec("ops.half", lambda ctx: {"outcome": "partial",
                                                 "summary": "1 of 2 accounts failed"},
                        {"hour": 5}, "Half done")]


@pytest.fixture
def listener():
    return RecordingPlugin()


@pytest.fixture
def abonent_plugins(listener):
    return [("listener", listener), ("ops", Operations())]


@pytest.fixture
def abonent_config():
    return {"outbox": {"max_attempts": "2"},
            "plugins": {"ops": {"url": "https://platform.example", "token": "very-secret"}}}


def test_outbox_failing_dead_retry_and_filters(client, runtime, factory, listener, drain):
    first = factory.account(login="first")
    second = factory.account(login="second")
    listener.fail = lambda event: RuntimeError("platform down") if event.account_id == first.id else None
    outbox = Outbox(runtime, "w1")
    outbox.run_once()
    failing = client.text("/admin/outbox/?state=failing")
    assert re.search(r'data-plugin="listener"><td>listener</td><td>\d+</td>'
                     r'<td class="oldest">\d+ s</td>', failing)
    assert "platform down" in failing and f"/admin/card/{first.id}" in failing
    assert f"/admin/card/{second.id}" not in failing
    assert f"/admin/card/{second.id}" in client.text("/admin/outbox/?state=done")
    drain()
    dead = client.text("/admin/outbox/?state=dead&plugin=listener")
    assert dead.count('class="delivery-row"') == 2 and "Retry all of listener" in dead
    assert client.text("/admin/outbox/?state=dead&account=second").count('class="delivery-row"') == 0
    assert client.text(f"/admin/outbox/?state=dead&account={first.id}").count('class="delivery-row"') == 2
    with runtime.session() as s:
        one = s.scalars(select(Delivery.id).where(Delivery.state == "dead")).first()
    listener.fail = None
    response = client.post(f"/admin/outbox/retry/{one}", {"next": "/admin/outbox/?state=dead"})
    assert response.headers["Location"] == "/admin/outbox/?state=dead"
    assert f"Delivery {one} is queued again" in client.text("/admin/outbox/?state=dead")
    client.post("/admin/outbox/retry-all", {"which": "dead", "plugin": "listener"})
    assert "1 deliveries queued again" in client.text("/admin/outbox/")
    drain()
    with runtime.session() as s:
        assert set(s.scalars(select(Delivery.state))) == {"done"}
        retries = s.execute(select(AuditEntry.actor, AuditEntry.object_id, AuditEntry.changes)
                            .where(AuditEntry.action == "retry").order_by(AuditEntry.id)).all()
        assert retries == [("manager:admin", str(one), {"queued": 1}),
                           ("manager:admin", None, {"state": "dead", "plugin": "listener",
                                                    "queued": 1})]
    summary = client.text("/admin/outbox/?state=all")
    # depth, age of the oldest pending, deliveries a minute (4 in 5 minutes), failing,
    # dead, done
    assert re.search(r'data-plugin="listener"><td>listener</td><td>0</td><td class="oldest">—'
                     r'</td>\s*<td class="rate"[^>]*>0.8</td><td[^>]*>0</td>\s*'
                     r'<td[^>]*>0</td><td>4</td>', summary)


def test_plugins_page_masks_secrets(client):
    page = client.text("/admin/plugins/")
    assert "https://platform.example" in page and "very-secret" not in page and "••••••" in page
    assert "abonent_jobs" in page and 'data-plugin="listener"' in page


def test_dashboard_charts(client, runtime, factory):
    service = factory.service("Daily internet", price="20.00", method="daily")
    account = factory.account(tariff=factory.tariff(base=[service]))
    blocked = factory.account(login="blocked")
    with runtime.session() as s:
        record_payment(s, account.contract_id, "500.00", source="bank", external_id="p1")
        charge_day(s, today("UTC"))
        set_block(s, blocked.id, "admin")
    page = client.text("/admin/?refresh=1")
    daily = page[page.index('id="chart-daily"'):page.index('id="chart-states"')]
    with runtime.session() as s:
        charged = s.scalar(select(func.sum(Charge.amount)))
    assert "<svg" in daily and f"{today('UTC').isoformat()} payments: 500.00" in daily
    assert f"{today('UTC').isoformat()} charges: {charged}" in daily and charged > 20
    states = page[page.index('id="chart-states"'):page.index('id="chart-failing"')]
    assert "blocked by a manager admin: 1" in states and "active active: 1" in states
    assert "http" not in page.split("<svg")[1].split("</svg>")[0].replace("http://www.w3.org", "")


def test_dashboard_without_figures_for_a_role_without_them(runtime, login_as):
    from admin import staff
    from core.models import Role
    with runtime.session() as s:
        staff.save_role(s, None, name="Desk", permissions=["accounts:view"])
        desk = s.scalars(select(Role.id).where(Role.name == "Desk")).one()
        staff.create_manager(s, login="desk", name="Desk", role_id=desk, password="correct horse 42")
    page = login_as("Desk", "desk").text("/admin/")
    assert "Find a subscriber" in page and "<svg" not in page


def test_audit_log_lists_changes_by_object_and_manager(client, factory):
    account = factory.account(login="audited")
    client.post(f"/admin/card/{account.id}/block/admin", {"admin-reason": "check"})
    page = client.text(f"/admin/audit/?search=account:{account.id}")
    assert "manager:admin" in page and "block" in page and "check" in page
    assert "block" in client.text("/admin/audit/?search=admin")
    assert 'class="changes"' in page


def test_jobs_run_now_and_show_their_last_result(client, runtime):
    page = client.text("/admin/jobs/")
    assert "ops.echo" in page and "Says hello" in page and "hour=3" in page
    for job in ("ops.echo", "ops.fail"):
        response = client.post(f"/admin/jobs/run/{job}")
        assert response.status_code == 302
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with runtime.session() as s:
            runs = {r.job_id: r for r in s.scalars(select(JobRun))}
        if len(runs) == 2 and all(r.status != "running" for r in runs.values()):
            break
        time.sleep(0.1)
    page = client.text("/admin/jobs/")
    assert "<b>said</b>: hello" in page and "ZeroDivisionError" in page
    assert "There is no job nope" in client.text(
        client.post("/admin/jobs/run/nope").headers["Location"])


def _between(page: str, start: str, end: str) -> str:
    at = page.index(start)
    return page[at:page.index(end, at)]


def test_jobs_page_and_dashboard_mark_runs_that_are_not_ok(client, runtime, login_as):
    for job in ("ops.echo", "ops.half", "ops.fail"):
        run_job(runtime, job)
    with runtime.session() as s:  # the last run of ops.echo caught up a missed slot
        s.add(JobRun(job_id="ops.echo", status="ok", trigger="catch-up", finished_at=now(),
                     result={"summary": "said hello late"}))
    page = client.text("/admin/jobs/")
    half = _between(page, 'data-job="ops.half"', "</tr>")
    assert 'data-status="partial"' in half and "table-warning" in half
    assert "badge-warning" in half and "1 of 2 accounts failed" in half
    failed = _between(page, 'data-job="ops.fail"', "</tr>")
    assert "table-danger" in failed and "badge-danger" in failed and "ZeroDivisionError" in failed
    echo = _between(page, 'data-job="ops.echo"', "</tr>")
    assert "badge-success" in echo and "catch-up" in echo and "said hello late" in echo

    marks = _between(client.text("/admin/"), 'id="job-marks"', "</div></div>")
    assert 'data-job="ops.half" data-status="partial"' in marks and "badge-warning" in marks
    assert 'data-job="ops.fail" data-status="failed"' in marks and "badge-danger" in marks
    assert "ops.echo" not in marks and "1 of 2 accounts failed" in marks
    russian = login_as("manager", "olga", language="ru").text("/admin/jobs/")
    assert "догоняющий" in _between(russian, 'data-job="ops.echo"', "</tr>")
    assert 'id="job-marks"' not in login_as("cashier").text("/admin/")


def test_invoices_issue_print_and_csv(client, runtime, factory):
    last_month = today("UTC").replace(day=1) - timedelta(days=1)
    account = factory.account(login="billed", start_on=last_month.replace(day=1))
    with runtime.session() as s:
        charge_day(s, last_month.replace(day=1))
    period = f"{last_month:%Y-%m}"
    refused = client.post("/admin/invoice/issue", {"period": "2024-13", "contract": ""})
    assert "is not a month (YYYY-MM)" in html.unescape(refused.get_data(as_text=True))
    refused = client.post("/admin/invoice/issue", {"period": period, "contract": "NOPE"})
    assert "no contract numbered NOPE" in refused.get_data(as_text=True)
    issued = client.post("/admin/invoice/issue", {"period": period, "contract": account.contract.number})
    assert issued.status_code == 200
    assert '"issued": 1' in html.unescape(issued.get_data(as_text=True))
    with runtime.session() as s:
        invoice = s.scalars(select(Invoice)).one()
    listing = client.text("/admin/invoice/")
    assert invoice.number in listing and f"/admin/invoice/print/{invoice.id}" in listing
    printable = client.get(f"/admin/invoice/print/{invoice.id}")
    assert printable.status_code == 200 and invoice.number in printable.get_data(as_text=True)
    csv = client.get(f"/admin/invoice/csv/{invoice.id}")
    assert csv.mimetype == "text/csv" and "Total" in csv.get_data(as_text=True)
    assert client.get("/admin/invoice/print/999").status_code == 404
