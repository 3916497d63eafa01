"""The demo as `make run` plays it: `abonent demo load` with the plugin, then `abonent
serve --demo` starting the emulator and running the daily job once; the charges are on
the account and on the month's act."""
import socket
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import demo as core_demo
from core.clock import frozen
from core.invoicing import invoice_period
from core.models import Account, Charge, Invoice, JobRun, SensorType
from plugin_wialon import demo
from plugin_wialon.emulator import DEMO_TOKEN

MORNING = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def loaded(runtime, monkeypatch):
    monkeypatch.setattr(demo, "PORT", free_port())
    with frozen(MORNING), runtime.session(actor="cli") as s:
        assert core_demo.load(s, subscribers=3)
    return runtime


def start(runtime):
    with frozen(MORNING):
        (emulator,) = runtime.pm.call_one("abonent_demo_services", "wialon", runtime=runtime)
    emulator.stop()
    return emulator


def usage_charges(runtime) -> dict[str, Decimal]:
    with runtime.session() as s:
        rows = s.execute(select(Account.login, Charge.amount).join(Account)
                         .where(Charge.kind == "usage"))
        return {login: amount for login, amount in rows}


def test_demo_data_is_carbon_billings_example(loaded):
    with loaded.session() as s:
        assert s.scalar(select(func.count()).select_from(SensorType)
                        .where(SensorType.name == "sensor_1")) == 1
        accounts = {a.login: a for a in s.scalars(select(Account).where(
            Account.login.like("wialon-%")))}
        assert {login: a.ext_id for login, a in accounts.items()} == {
            "wialon-777": "777", "wialon-1001": "1001", "wialon-1002": "1002",
            "wialon-1003": "1003"}
        agent = accounts["wialon-777"].agent
        assert agent.settings["api_url"] == f"http://127.0.0.1:{demo.PORT}"
        assert agent.settings["token"] == DEMO_TOKEN
        (subscription,) = accounts["wialon-777"].subscriptions
        service = subscription.service
        assert (service.name, service.kind, service.method, service.price_per_unit,
                service.unit.name, service.sensor_type.name) == (
            "GPS tracking, per object", "counter", "daily", Decimal("3.00"), "pcs", "sensor_1")
    with loaded.session(actor="cli") as s:  # a second load adds nothing
        demo.load(s, loaded)
        assert s.scalar(select(func.count()).select_from(Account)
                        .where(Account.login.like("wialon-%"))) == 4


def test_serve_demo_runs_the_job_and_the_act_shows_it(loaded):
    emulator = start(loaded)

    charges = usage_charges(loaded)
    assert charges["wialon-777"] == Decimal("18.00")
    expected = {f"wialon-{ext_id}": 3 * emulator.state.account(ext_id).units
                for ext_id in (777, 1001, 1002, 1003)}
    assert charges == {login: Decimal(f"{units}.00") for login, units in expected.items() if units}
    with loaded.session() as s:
        run = s.scalars(select(JobRun).order_by(JobRun.id.desc())).first()
        assert (run.trigger, run.status, run.result["counted"]) == ("demo", "ok", 4)
        contract_id = s.scalars(select(Account.contract_id).where(
            Account.login == "wialon-777")).one()

    start(loaded)  # serve --demo again the same day: nothing is charged twice
    assert usage_charges(loaded) == charges

    invoice_period(loaded, date(2026, 5, 1), contract_id=contract_id)
    with loaded.session() as s:
        invoice = s.scalars(select(Invoice).where(Invoice.contract_id == contract_id)).one()
        assert [(line.description, line.quantity, line.unit, line.gross)
                for line in invoice.lines] == [
            ("GPS tracking, per object", Decimal(6), "pcs", Decimal("18.00"))]
