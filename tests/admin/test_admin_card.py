"""The account card: what it shows (plugins' panels included, even a failing one) and every
action taken from it, through the service layer, reported in plain words."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import Panel, ReconcileReport
from core.charging import day_start
from core.clock import today
from core.models import Account, AuditEntry, Block, Payment, Subscription, TariffChange
from core.services.payments import record_payment
from plugins.testing import RecordingPlugin


class PanelPlugin:
    def abonent_account_panel(self, session, account):
        return Panel("TV platform", rows=[("User id", f"tv-{account.id}")],
                     tables=[("Devices", ["MAC", "Model"], [["00:11:22:33:44:55", "STB-1"]])])

    def abonent_reconcile(self, ctx, account_id, fix):
        report = ReconcileReport(plugin=ctx.name, checked=1)
        report.add(account_id, "missing_packet", "packet 7 absent on the platform", fixed=fix)
        return report


class BrokenPlugin:
    def abonent_account_panel(self, session, account):
        raise ConnectionError("platform unreachable")

    def abonent_reconcile(self, ctx, account_id, fix):
        raise TimeoutError("platform timed out")


@pytest.fixture
def listener():
    return RecordingPlugin()


@pytest.fixture
def abonent_plugins(listener):
    return [("listener", listener), ("tvpanel", PanelPlugin()), ("broken", BrokenPlugin())]


@pytest.fixture
def account(factory):
    factory.operator()
    internet = factory.service("Internet", price="600.00")
    extra = factory.service("Static IP", price="150.00")
    tariff = factory.tariff("Home", base=[internet], extra=[extra])
    factory.tariff("Home 300", base=[factory.service("Internet 300", price="900.00")])
    return factory.account(tariff=tariff, login="ivan")


def _flash(page: str) -> str:
    return " ".join(re.findall(r'class="alert alert-\w+[^"]*flash"[^>]*>\s*<button[^>]*>[^<]*</button>\s*([^<]+)',
                               page))


def _act(client, url, data=None) -> str:
    response = client.post(url, data or {})
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    return _flash(client.text(response.headers["Location"]))


def test_card_shows_the_account_and_each_plugins_panel(client, runtime, account):
    with runtime.session() as s:
        record_payment(s, account.contract_id, "250.00", source="bank", external_id="b1")
    page = client.text(f"/admin/card/{account.id}")
    assert "ivan" in page and "Home" in page and "Internet" in page
    assert "250.00" in page and 'class="badge badge-success state-active"' in page
    assert "tv-" in page and "00:11:22:33:44:55" in page  # the TV panel with its table
    assert "This panel failed" in page and "platform unreachable" in page  # the broken one
    assert "account_created" in page and "payment_received" not in page  # events of the account
    assert client.get("/admin/card/999999").status_code == 404


def test_block_unblock_and_switch_off(client, runtime, account, listener, drain):
    said = _act(client, f"/admin/card/{account.id}/block/admin", {"admin-reason": "debt"})
    assert "Blocked by a manager" in said and "State now: blocked by a manager" in said
    said = _act(client, f"/admin/card/{account.id}/block/disabled", {"disabled-reason": ""})
    assert "switched off" in said.lower()
    again = _act(client, f"/admin/card/{account.id}/block/admin", {})
    assert "already has a admin block" in again
    said = _act(client, f"/admin/card/{account.id}/unblock/admin")
    assert "lifted" in said and "State now: switched off" in said
    said = _act(client, f"/admin/card/{account.id}/unblock/disabled")
    assert "State now: active" in said
    assert "has no admin block to lift" in _act(client, f"/admin/card/{account.id}/unblock/admin")
    with runtime.session() as s:
        blocks = s.scalars(select(Block).order_by(Block.id)).all()
        assert [(b.source, b.reason, b.created_by, b.lifted_at is not None) for b in blocks] == [
            ("admin", "debt", "manager:admin", True), ("disabled", "lifted", "manager:admin", True)]
    drain()
    assert [e.name for e in listener.events if e.name.startswith("block")] == [
        "block_set", "block_set", "block_lifted", "block_lifted"]


def test_voluntary_block_with_dates(client, runtime, account):
    first = today("UTC") + timedelta(days=2)
    last = first + timedelta(days=9)
    said = _act(client, f"/admin/card/{account.id}/voluntary", {
        "voluntary-start": first.isoformat(), "voluntary-end": last.isoformat(),
        "voluntary-reason": "holiday"})
    assert f"voluntary block from {first} to {last} inclusive" in said
    page = client.text(f"/admin/card/{account.id}")
    assert "planned" in page and 'data-source="voluntary"' in page
    with runtime.session() as s:
        block = s.scalars(select(Block)).one()
        assert block.start_at == day_start(first, "UTC")
        assert block.end_at == day_start(last + timedelta(days=1), "UTC")
    refused = _act(client, f"/admin/card/{account.id}/unblock/voluntary")
    assert "lifted" in refused
    backwards = _act(client, f"/admin/card/{account.id}/voluntary", {
        "voluntary-start": last.isoformat(), "voluntary-end": first.isoformat()})
    assert "Refused" in backwards and "must be later than the start" in backwards
    far = _act(client, f"/admin/card/{account.id}/voluntary", {"voluntary-end": "9999-12-31"})
    assert "is too far in the future" in far
    bad = _act(client, f"/admin/card/{account.id}/voluntary", {"voluntary-start": "32.13.2024"})
    assert "Refused" in bad and "From (first day)" in bad
    with runtime.session() as s:
        assert len(s.scalars(select(Block)).all()) == 1


def test_services_assign_activate_deactivate_remove(client, runtime, account, factory):
    with runtime.session() as s:
        static_ip = s.scalars(select(Subscription)).one().account.tariff.items[1].service_id
    said = _act(client, f"/admin/card/{account.id}/assign", {
        "assign-service_id": static_ip, "assign-start_on": "", "assign-end_on": ""})
    assert "Static IP assigned to ivan" in said and "(inactive)" in said
    with runtime.session() as s:
        sub_id = s.scalars(select(Subscription.id).where(Subscription.service_id == static_ip)).one()
    assert "is active" in _act(client, f"/admin/card/{account.id}/subscription/{sub_id}/activate")
    assert "is inactive" in _act(client, f"/admin/card/{account.id}/subscription/{sub_id}/deactivate")
    assert "ends today" in _act(client, f"/admin/card/{account.id}/subscription/{sub_id}/remove")
    assert "has ended" in _act(client, f"/admin/card/{account.id}/subscription/{sub_id}/activate")
    other = factory.account(login="other")
    with runtime.session() as s:
        foreign = s.scalars(select(Subscription.id).where(Subscription.account_id == other.id)).first()
    assert "is not a service of this account" in _act(
        client, f"/admin/card/{account.id}/subscription/{foreign}/remove")
    assert client.post(f"/admin/card/{account.id}/subscription/{sub_id}/explode").status_code == 404
    with runtime.session() as s:
        assert s.get(Subscription, foreign).state == "active"
        actions = s.scalars(select(AuditEntry.action).where(
            AuditEntry.object_type == "subscription").order_by(AuditEntry.id)).all()
        assert actions == ["assign", "activate", "deactivate", "remove"]


def test_tariff_change_today_or_on_a_date(client, runtime, account):
    with runtime.session() as s:
        from core.models import Tariff
        home300 = s.scalars(select(Tariff.id).where(Tariff.name == "Home 300")).one()
    later = today("UTC") + timedelta(days=5)
    said = _act(client, f"/admin/card/{account.id}/tariff", {"tariff-tariff_id": home300,
                                                              "tariff-on": later.isoformat()})
    assert f"moves to tariff Home 300 on {later}" in said
    assert "Planned: tariff Home → Home 300" in client.text(f"/admin/card/{account.id}")
    said = _act(client, f"/admin/card/{account.id}/tariff", {"tariff-tariff_id": home300,
                                                              "tariff-on": today("UTC").isoformat()})
    assert "is on tariff Home 300 from today" in said
    past = _act(client, f"/admin/card/{account.id}/tariff", {
        "tariff-tariff_id": account.tariff_id, "tariff-on": "2000-01-01"})
    assert "cannot be dated in the past" in past
    with runtime.session() as s:
        assert s.get(Account, account.id).tariff.name == "Home 300"
        changes = s.scalars(select(TariffChange).order_by(TariffChange.id)).all()
        assert [c.cancelled_at is not None for c in changes] == [True, False]


def test_payment_on_the_card(client, runtime, account):
    page = client.text(f"/admin/card/{account.id}")
    key = re.search(r'name="payment-key"[^>]*value="([0-9a-f]+)"', page)[1]
    data = {"payment-amount": "1 000,50".replace(" ", ""), "payment-comment": "cash desk",
            "payment-key": key}
    said = _act(client, f"/admin/card/{account.id}/payment", data)
    assert "Payment of 1,000.50 RUB recorded" in said and "Balance: 1,000.50" in said
    assert "nothing was added twice" in _act(client, f"/admin/card/{account.id}/payment", data)
    refused = _act(client, f"/admin/card/{account.id}/payment", {"payment-amount": "-5",
                                                                 "payment-key": "k-2"})
    assert "Refused" in refused and "must not be negative" in refused
    with runtime.session() as s:
        assert s.scalars(select(Payment.amount)).all() == [Decimal("1000.50")]


def test_trash_and_restore(client, runtime, account):
    assert "is in the trash" in _act(client, f"/admin/card/{account.id}/trash")
    page = client.text(f"/admin/card/{account.id}")
    assert "Restore from trash" in page and "state-trash" in page
    assert "in the trash" in _act(client, f"/admin/card/{account.id}/block/admin", {})
    assert "is restored" in _act(client, f"/admin/card/{account.id}/restore")
    with runtime.session() as s:
        assert s.get(Account, account.id).trashed_at is None


def test_synchronise_now_shows_drift_and_plugin_errors(client, runtime, account):
    response = client.post(f"/admin/card/{account.id}/sync")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "1 difference(s) found, 1 fixed, 1 plugin(s) failed" in page
    assert "packet 7 absent on the platform" in page and "drift-fixed" in page
    assert "platform timed out" in page
    with runtime.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "sync")).one()
        assert entry.actor == "manager:admin" and entry.object_id == str(account.id)
        assert entry.changes == {"tvpanel": {"drift": 1, "fixed": 1},
                                 "broken": "TimeoutError: platform timed out"}


def test_cashier_pays_but_cannot_block(login_as, account):
    cashier = login_as("cashier")
    page = cashier.text(f"/admin/card/{account.id}")
    assert "Add a payment" in page and "Switch off" not in page and "Synchronise now" not in page
    assert cashier.post(f"/admin/card/{account.id}/block/admin", {}).status_code == 403
    assert cashier.post(f"/admin/card/{account.id}/sync").status_code == 403
    key = re.search(r'name="payment-key"[^>]*value="([0-9a-f]+)"', page)[1]
    paid = cashier.post(f"/admin/card/{account.id}/payment", {"payment-amount": "10",
                                                              "payment-key": key})
    assert paid.status_code == 302
