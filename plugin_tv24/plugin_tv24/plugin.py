"""The plugin Abonent loads (entry point `tv24` in the group `abonent.plugins`): each hook
hands over to the module that does the work.

- registration: the "24h TV" agent type (plugin_tv24.agent), the `[plugins.tv24]` section
  (plugin_tv24.config), the callback blueprint (plugin_tv24.receiver), `abonent tv24 sync`
  (plugin_tv24.cli), the nightly reconciliation job;
- notifications: billing → platform (plugin_tv24.deliveries), their facts read with the
  outbox's claim (plugin_tv24.store.known_for);
- the account card's panel (plugin_tv24.panel) and "synchronise now" (plugin_tv24.reconcile);
- the demo: data and the emulator (plugin_tv24.demo).
"""
from __future__ import annotations

import logging

from core import JobSpec, hookimpl, runtime_of
from plugin_tv24 import cabinet, deliveries, demo, inbound, receiver, store
from plugin_tv24.agent import AGENT_TYPE
from plugin_tv24.cli import tv24
from plugin_tv24.config import SCHEMA
from plugin_tv24.panel import account_panel
from plugin_tv24.reconcile import outcome, reconcile, summary
from plugin_tv24.store import PLUGIN

log = logging.getLogger("abonent.tv24")


@hookimpl
def abonent_agent_types():
    return [AGENT_TYPE]


@hookimpl
def abonent_config_schema():
    return SCHEMA


@hookimpl
def abonent_blueprints(runtime):
    """The callback endpoint; a self-registration that cannot work is said at start-up."""
    with runtime.session() as session:
        for problem in inbound.registration_problems(session):
            log.warning(problem)
    return [receiver.blueprint()]


@hookimpl
def abonent_cli_commands():
    return [tv24]


def nightly_sync(ctx) -> dict:
    """The scheduled reconciliation of every 24h TV account: its outcome (a platform it
    could not read is "failed", errors or unfixed drift "partial") and summary are kept."""
    report = reconcile(ctx, fix=ctx.config["sync_fix"])
    return {"outcome": outcome(report), "summary": summary(report),
            "checked": report.checked, "drift": len(report.drift),
            "fixed": sum(1 for item in report.drift if item["fixed"]),
            "errors": report.errors}


@hookimpl
def abonent_jobs(runtime):
    at = runtime.plugin_configs[PLUGIN]["sync_time"]
    return [JobSpec(id="tv24-sync", func=nightly_sync, cron={"hour": at.hour, "minute": at.minute},
                    description="24h TV: compare the platform with the billing and fix the drift")]


@hookimpl
def abonent_account_panel(session, account):
    return account_panel(session, account, runtime_of(session).plugin_configs[PLUGIN])


@hookimpl
def abonent_reconcile(ctx, account_id, fix):
    return reconcile(ctx, account_id, fix)


@hookimpl
def abonent_demo_data(session, runtime):
    demo.load(session, runtime)


@hookimpl
def abonent_demo_services(runtime):
    return demo.start(runtime)


abonent_cabinet_panel = hookimpl(cabinet.cabinet_panel)
abonent_delivery_facts = hookimpl(store.known_for)
abonent_account_created = hookimpl(deliveries.account_created)
abonent_account_changed = hookimpl(deliveries.account_changed)
abonent_account_trashed = hookimpl(deliveries.account_trashed)
abonent_account_restored = hookimpl(deliveries.account_restored)
abonent_block_set = hookimpl(deliveries.block_set)
abonent_block_lifted = hookimpl(deliveries.block_lifted)
abonent_subscription_assigned = hookimpl(deliveries.subscription_assigned)
abonent_subscription_activated = hookimpl(deliveries.subscription_activated)
abonent_subscription_deactivated = hookimpl(deliveries.subscription_deactivated)
abonent_subscription_expired = hookimpl(deliveries.subscription_expired)
abonent_subscription_removed = hookimpl(deliveries.subscription_removed)
abonent_tariff_changed = hookimpl(deliveries.tariff_changed)
abonent_tariff_updated = hookimpl(deliveries.tariff_updated)
