"""The demo as `make run` plays it (`abonent demo load`, then `abonent serve --demo` starting
the emulated SMS), the account card's panel, and the reconciliation converging."""
from __future__ import annotations

import socket

import pytest
from sqlalchemy import func, select

from core import demo as core_demo
from core.models import Account, Agent, Delivery
from plugin_jambox import demo
from plugin_jambox.panel import account_panel
from plugin_jambox.reconcile import reconcile


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def demo_sms(runtime, monkeypatch):
    monkeypatch.setattr(demo, "PORT", free_port())
    with runtime.session(actor="cli") as s:
        assert core_demo.load(s, subscribers=3)
        agent = s.scalars(select(Agent).where(Agent.type == "jambox")).one()
        agent.settings = {**agent.settings,
                          "sms_url": f"http://127.0.0.1:{demo.PORT}/sms/xmlrpc"}
    (emulator,) = runtime.pm.call_one("abonent_demo_services", "jambox", runtime=runtime)
    yield emulator
    emulator.stop()


def demo_accounts(runtime) -> list[Account]:
    with runtime.session() as s:
        return list(s.scalars(select(Account).join(Agent).where(Agent.type == "jambox")
                              .order_by(Account.id)))


def test_the_demo_starts_in_line_with_the_billing(runtime, demo_sms, drain):
    sms = demo_sms.sms
    accounts = demo_accounts(runtime)
    assert len(accounts) == len(demo.ACCOUNTS)
    linked = [c for c in sms.customers.values() if c.data["cust_external_id"]]
    assert sorted(int(c.data["cust_external_id"]) for c in linked) == sorted(
        a.contract_id for a in accounts)
    held = sorted(s.package_id for s in sms.subscriptions.values())
    assert held == sorted([101, 201, 101, 102, 102, 203, 101, 102])  # the seeds' and ours
    drain()
    with runtime.session() as s:
        assert s.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.plugin == "jambox", Delivery.state != "done")) == 0
    report = reconcile(runtime.context("jambox"), fix=True)
    assert report.errors == []
    assert {d["kind"] for d in report.drift} == {"unknown_customer"}  # the SMS's own two


def test_a_second_start_finds_a_fresh_sms_and_fills_it_again(runtime, demo_sms):
    demo_sms.stop()
    (again,) = runtime.pm.call_one("abonent_demo_services", "jambox", runtime=runtime)
    try:
        assert len([c for c in again.sms.customers.values()
                    if c.data["cust_external_id"]]) == len(demo.ACCOUNTS)
        assert len(again.sms.accounts) == len(demo.ACCOUNTS) + 2
    finally:
        again.stop()


def test_the_account_card_shows_the_sms_side(runtime, demo_sms):
    first = demo_accounts(runtime)[0]
    with runtime.session() as s:
        account = s.get(Account, first.id)
        panel = account_panel(s, account, {"panel_timeout": "2"})
    rows = dict(panel.rows)
    customer = next(c for c in demo_sms.sms.customers.values()
                    if c.data["cust_external_id"] == str(first.contract_id))
    assert rows["SMS customer"].startswith(f"{customer.cust_number} (http://127.0.0.1:")
    assert rows["PINs (VOD / master)"] == (f"{customer.data['cust_vod_pin']} / "
                                           f"{customer.data['cust_master_pin']}")
    assert rows["Debt-collection lock (SMS)"] == "not locked"
    (caption, header, services), _ = panel.tables
    assert sorted(row[1] for row in services) == ["HBO", "Pakiet Wielotematyczny 65"]


def test_the_panel_shows_the_billing_side_when_the_sms_is_down(runtime, demo_sms):
    first = demo_accounts(runtime)[0]
    demo_sms.stop()
    with runtime.session() as s:
        panel = account_panel(s, s.get(Account, first.id), {"panel_timeout": "1"})
    rows = dict(panel.rows)
    assert rows["SMS"].startswith("the SMS did not answer")
    assert rows["TV invoicing"] == "on"
