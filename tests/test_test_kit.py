"""plugins.testing gives a plugin author what they used to write by hand: block, lift and
pay through the service layer, the outbox's deliveries and dead letters, a clock to move,
a logged-in admin, records in event order, a `session` that does not lock the outbox out,
and a PostgreSQL of its own when none is given."""
from __future__ import annotations

import os
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from core import Panel, Rejected
from core.services.payments import record_payment
from plugins import testing_pg
from plugins.testing import RecordingPlugin


@pytest.fixture
def abonent_plugins(recorder):
    return [("rec", recorder)]


def test_block_pay_lift_reach_the_plugin_in_event_order(factory, block, pay, lift, drain,
                                                        recorder):
    account = factory.account()
    contract_id = account.contract_id
    block(account, "admin", reason="debt")
    payment = pay(contract_id, "150.00", external_id="b-1")
    lifted = lift(account, "admin")
    drain()
    wanted = ("block_set", "payment_received", "block_lifted")
    assert [e.name for e in recorder.events if e.name in wanted] == list(wanted)
    paid = next(e for e in recorder.events if e.name == "payment_received")
    assert (paid.payload["payment"]["id"], paid.payload["payment"]["amount"]) == (
        payment.id, "150.00")
    assert lifted.lifted_at is not None and payment.amount == Decimal("150.00")


def test_events_are_in_event_order_whatever_order_they_arrived_in(factory, drain, recorder):
    """The first account's first delivery fails once: it arrives after the second
    account's, yet `events` stays in event order (`arrivals` shows how they came)."""
    first = factory.account()
    factory.account()  # the second account, whose delivery overtakes the first's
    failed = []

    def once(event):
        if event.account_id == first.id and not failed:
            failed.append(event.id)
            return RuntimeError("platform hiccup")
        return None
    recorder.fail = once
    drain()
    ids = [e.id for e in recorder.events]
    assert ids == sorted(ids) and failed[0] in ids
    assert [e.id for e in recorder.arrivals] != ids  # it did arrive out of order


def test_writes_of_the_session_fixture_are_delivered(session, factory, drain, recorder):
    """The test holds `session` open and writes with it; drain() commits it first, so
    the outbox sees the event (PostgreSQL) and is not locked out (SQLite)."""
    contract = factory.contract()
    record_payment(session, contract.id, "99.00", source="bank", external_id="s-1")
    assert drain() == 1
    assert recorder.names() == ["payment_received"]


def test_deliveries_and_dead_letters(factory, drain, recorder, deliveries, dead_letters):
    contract = factory.contract()
    recorder.fail = Rejected("HTTP 400: phone: invalid")
    with factory.runtime.session() as s:
        record_payment(s, contract.id, "10.00", source="bank", external_id="d-1")
    assert [(d.plugin, d.event, d.state) for d in deliveries("rec")] == [
        ("rec", "payment_received", "pending")]
    drain()
    (dead,) = dead_letters("rec")
    assert (dead.event, dead.contract_id, dead.attempts) == ("payment_received", contract.id, 1)
    assert "phone: invalid" in dead.last_error
    assert dead_letters("other") == [] and deliveries(state="done") == []


@pytest.mark.parametrize("abonent_config", [{"outbox": {"backoff_base": "60",
                                                         "backoff_max": "600"}}])
def test_the_clock_brings_a_retry_due(factory, drain, recorder, clock, deliveries):
    clock.set(datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc))
    contract = factory.contract()
    recorder.fail = lambda event: RuntimeError("down") if event.attempt == 1 else None
    with factory.runtime.session() as s:
        record_payment(s, contract.id, "10.00", source="bank", external_id="c-1")
    drain()
    (waiting,) = deliveries("rec")
    assert (waiting.state, waiting.attempts) == ("pending", 1)
    assert waiting.next_attempt_at > clock.now  # 30-60 s of back-off
    drain()
    assert recorder.events == []
    clock.advance(seconds=61)
    drain()
    assert recorder.names() == ["payment_received"]


def test_the_clock_is_back_after_the_test():
    from core.clock import now
    assert abs((now() - datetime.now(timezone.utc)).total_seconds()) < 60


class PanelPlugin:
    """Shows a panel on the account card."""

    def abonent_account_panel(self, session, account):
        return Panel("Kit panel", rows=[("login", account.login)])


def test_admin_client_sees_a_plugin_panel(runtime, factory, admin_client):
    runtime.pm.register(PanelPlugin(), "panel")
    account = factory.account(login="panelled")
    administrator = admin_client()
    page = administrator.text(f"/admin/card/{account.id}")
    assert "Kit panel" in page and "panelled" in page
    assert admin_client("cashier").get("/admin/outbox/").status_code == 403
    assert administrator.get("/admin/outbox/").status_code == 200  # still logged in


def test_recording_plugin_is_importable_with_its_signature():
    plugin = RecordingPlugin(agent_types=["tv"])
    assert [t.code for t in plugin.abonent_agent_types()] == ["tv"]


# --- PostgreSQL ----------------------------------------------------------------------------

def test_the_kit_starts_and_removes_a_throwaway_postgresql():
    binaries = testing_pg.server_binaries()
    assert binaries is not None, "this machine has PostgreSQL's server: it must be found"
    cluster = testing_pg.Cluster(binaries).start()
    try:
        engine = create_engine(cluster.url)
        with engine.connect() as connection:
            assert connection.execute(text("SHOW fsync")).scalar() == "off"
        engine.dispose()
    finally:
        cluster.stop()
    assert not cluster.folder.exists()


def test_no_postgresql_fails_saying_what_to_install_or_set(monkeypatch, tmp_path):
    monkeypatch.delenv(testing_pg.PG_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv(testing_pg.PG_BIN_ENV, str(tmp_path))
    monkeypatch.setattr(testing_pg, "SEARCH", tmp_path / "none")
    monkeypatch.setattr(testing_pg, "_cluster", None)
    monkeypatch.setattr(testing_pg, "_failure", None)
    with pytest.raises(testing_pg.NoPostgres) as refused:
        testing_pg.server_url()
    message = str(refused.value)
    assert testing_pg.PG_ENV in message and "apt-get install postgresql" in message
    assert "--db sqlite" in message


def test_the_environment_url_comes_first(monkeypatch):
    monkeypatch.setenv(testing_pg.PG_ENV, "postgresql+psycopg://someone@db/postgres")
    assert testing_pg.server_url() == "postgresql+psycopg://someone@db/postgres"
    assert os.environ[testing_pg.PG_ENV]
