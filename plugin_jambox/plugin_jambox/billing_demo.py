"""The billing events of the demo (`make run`): SGT's charges for the emulated SMS's TV
accounts from the first of last month to yesterday, imported at start, so the JAMBOX →
Billing events page, the invoice run (TV lines) and the balance push have something to
show."""
from __future__ import annotations

import logging
from datetime import timedelta

from core import operator_today
from plugin_jambox.billing_import import import_events
from plugin_jambox.emulator import Sms
from plugin_jambox.emulator.billing import generate_events

log = logging.getLogger("abonent.jambox.demo")
#: events a TV account gets over the demo's period
PER_ACCOUNT = 6


def start(ctx, sms: Sms) -> None:
    """Make the demo SMS's events (once: none if it has some) and import them."""
    with ctx.session() as session:
        yesterday = operator_today(session) - timedelta(days=1)
    first = (yesterday.replace(day=1) - timedelta(days=1)).replace(day=1)
    if not sms.billing_events and sms.accounts:
        generate_events(sms, PER_ACCOUNT * len(sms.accounts), first, yesterday)
    report = import_events(ctx.runtime, first, yesterday)
    log.info("JAMBOX demo billing events: %s", report.summary())
