"""The demo's billing events (`make run`): the emulated SMS's TV accounts are charged by
SGT from the first of last month to yesterday, and the demo start imports them, each
with the contract its customer is linked to."""
from __future__ import annotations

import socket

from sqlalchemy import func, select

from core import demo as core_demo
from core.models import Agent
from plugin_jambox import demo
from plugin_jambox.billing_demo import PER_ACCOUNT
from plugin_jambox.billing_models import BillingEvent


def test_the_demo_start_imports_a_month_and_a_half_of_events(runtime, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        monkeypatch.setattr(demo, "PORT", probe.getsockname()[1])
    with runtime.session(actor="cli") as s:
        assert core_demo.load(s, subscribers=3)
        agent = s.scalars(select(Agent).where(Agent.type == "jambox")).one()
        agent.settings = {**agent.settings,
                          "sms_url": f"http://127.0.0.1:{demo.PORT}/sms/xmlrpc"}
    (emulator,) = runtime.pm.call_one("abonent_demo_services", "jambox", runtime=runtime)
    try:
        sms = emulator.sms
        assert len(sms.billing_events) == PER_ACCOUNT * len(sms.accounts)
        with runtime.session() as s:
            stored = s.scalar(select(func.count()).select_from(BillingEvent))
            claimed = s.scalar(select(func.count()).select_from(BillingEvent).where(
                BillingEvent.contract_id.is_not(None)))
        assert stored == len(sms.billing_events)
        linked = {str(c.cust_number) for c in sms.customers.values()
                  if c.data.get("cust_external_id")}
        assert claimed == sum(1 for e in sms.billing_events if str(e.cust_number) in linked) > 0
    finally:
        emulator.stop()
