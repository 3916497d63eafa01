"""The plugin Abonent loads (entry point `jambox` in the group `abonent.plugins`): each
hook hands over to the module that does the work.

- registration: the "JAMBOX" agent type (plugin_jambox.agent), the `[plugins.jambox]`
  section (CONFIG), the scheduled jobs (JOBS: functions runtime → JobSpec), the
  `abonent jambox …` commands (plugin_jambox.cli, a group other modules add to);
- notifications: billing → SMS (plugin_jambox.deliveries);
- the account card's panel and "synchronise now" (plugin_jambox.panel, .reconcile);
- the demo: data and the emulator (plugin_jambox.demo).
"""
from __future__ import annotations

from pathlib import Path

from core import JobSpec, hookimpl, runtime_of
from plugin_jambox import (billing_balance, billing_cli, billing_import, billing_invoice, config,
                           deliveries, demo)
from plugin_jambox.agent import AGENT_TYPE
from plugin_jambox.cli import jambox
from plugin_jambox.panel import account_panel
from plugin_jambox.reconcile import outcome, reconcile, summary, unfixed
from plugin_jambox.store import PLUGIN


def nightly_sync(ctx) -> dict:
    """The scheduled reconciliation of every JAMBOX account, with its outcome (an SMS it
    could not read is "failed", errors or unfixed drift "partial") and summary."""
    report = reconcile(ctx, fix=ctx.config["sync_fix"])
    return {"outcome": outcome(report), "summary": summary(report),
            "checked": report.checked, "drift": len(report.drift),
            "unfixed": len(unfixed(report)), "errors": report.errors}


def sync_job(runtime) -> JobSpec:
    at = runtime.plugin_configs[PLUGIN]["sync_time"]
    return JobSpec(id="jambox-sync", func=nightly_sync, cron={"hour": at.hour, "minute": at.minute},
                   description="JAMBOX: compare the SMS with the billing and fix the drift")


#: the `[plugins.jambox]` fields
CONFIG = [*config.SCHEMA, *billing_import.SCHEMA, *billing_balance.SCHEMA]
#: functions runtime → JobSpec, one per scheduled job
JOBS: list = [sync_job, billing_import.job, billing_balance.job]
for _command in billing_cli.COMMANDS:
    jambox.add_command(_command)


@hookimpl
def abonent_agent_types():
    return [AGENT_TYPE]


@hookimpl
def abonent_config_schema():
    return CONFIG


@hookimpl
def abonent_migrations():
    """The plugin's own table (billing events): its Alembic branch "jambox"."""
    return Path(__file__).parent / "migrations"


@hookimpl
def abonent_invoice_lines(session, contract, period_start, period_end):
    return billing_invoice.invoice_lines(session, contract, period_start, period_end)


@hookimpl
def abonent_jobs(runtime):
    return [job(runtime) for job in JOBS]


@hookimpl
def abonent_cli_commands():
    return [jambox]


@hookimpl
def abonent_reconcile(ctx, account_id, fix):
    return reconcile(ctx, account_id, fix)


@hookimpl
def abonent_account_panel(session, account):
    return account_panel(session, account, runtime_of(session).plugin_configs[PLUGIN])


@hookimpl
def abonent_admin_views(runtime):
    from plugin_jambox import admin, billing_admin  # Flask only where the admin runs
    return admin.views() + billing_admin.views()


@hookimpl
def abonent_demo_data(session, runtime):
    demo.load(session, runtime)


@hookimpl
def abonent_demo_services(runtime):
    return demo.start(runtime)


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
