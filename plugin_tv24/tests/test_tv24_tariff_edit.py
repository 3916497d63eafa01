"""A tariff's device limit edited in the admin reaches the platform through the outbox
(`tariff_updated`, one event per account on the tariff), unless an account's own
tv24_devicelimit overrides it; before, only a reconciliation would have carried it."""
from __future__ import annotations

import re

from sqlalchemy import select

from admin import staff
from admin.app import create_app
from core.models import AuditEntry, Manager, OutboxEvent, Tariff
from core.services.tariffs import announce_edit
from plugin_tv24.reconcile import reconcile

PASSWORD = "correct horse 42"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def admin_client(runtime):
    """Flask's test client logged in as the first administrator."""
    http = create_app(runtime).test_client()
    with runtime.session(actor="test") as s:  # the first administrator, made by the app
        first = s.scalars(select(Manager.id).where(Manager.login == staff.FIRST_ADMIN)).one()
        staff.set_password(s, first, PASSWORD)

    def token(url: str) -> str:
        return TOKEN.search(http.get(url).get_data(as_text=True))[1]

    response = http.post("/login", data={"login": staff.FIRST_ADMIN, "password": PASSWORD,
                                         "csrf_token": token("/login")})
    assert response.status_code == 302
    return http, token


def test_a_device_limit_edited_in_the_admin_reaches_the_platform(tv):
    tariff = tv.tariff(base=2, addons=(), device_limit=3)
    plain = tv.account("79001234567", tariff)
    own = tv.account("79001234568", tariff, fields={"tv24_devicelimit": 1})
    other = tv.account("79001234569", tv.tariff(base=1, addons=(), device_limit=3))
    tv.drain()
    http, token = admin_client(tv.runtime)
    response = http.post(f"/admin/tariff/edit/?id={tariff.id}", data={
        "name": tariff.name, "base_services": [tv.services[2].id], "device_limit": "6",
        "csrf_token": token("/admin/profile/")})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with tv.runtime.session() as s:
        events = s.scalars(select(OutboxEvent).where(OutboxEvent.name == "tariff_updated")).all()
        assert sorted(e.account_id for e in events) == [plain.id, own.id]
        assert events[0].payload["old"] == {"device_limit": 3}
        assert events[0].payload["new"] == {"device_limit": 6}
        (audit,) = s.scalars(select(AuditEntry).where(AuditEntry.object_type == "tariff")).all()
        assert audit.changes["device_limit"] == {"old": 3, "new": 6}  # the audit still sees it
    tv.drain()
    assert tv.user(plain.id).device_limit == 6
    assert tv.user(own.id).device_limit == 1 and tv.user(other.id).device_limit == 3
    assert reconcile(tv.runtime.context("tv24")).drift == []


def test_an_edit_that_changes_nothing_delivered_emits_nothing(tv):
    tariff = tv.tariff(base=2, addons=(), device_limit=3)
    tv.account("79001234567", tariff)
    with tv.runtime.session() as s:
        row = s.get(Tariff, tariff.id)
        row.name = "Renamed"
        row.device_limit = 3
        assert announce_edit(s, row) == 0
    with tv.runtime.session() as s:
        assert s.scalars(select(OutboxEvent).where(OutboxEvent.name == "tariff_updated")).all() == []
