"""The plugin Abonent loads (entry point `nas_oss` in the group `abonent.plugins`): each hook
hands over to the module that does the work.

- registration: the "NAS" agent type (plugin_nas_oss.agent) with the IP-per-NAS check,
  the `[plugins.nas_oss]` section (plugin_nas_oss.config), the `abonent nas` command group
  (plugin_nas_oss.cli; other modules add commands to it), the scheduled jobs (`jobs`:
  other modules append their JobSpec factories);
- notifications: billing → NAS as OSS commands (plugin_nas_oss.deliveries), their
  NAS settings, sessions and done steps read with the outbox's claim
  (plugin_nas_oss.commands.delivery_facts);
- the account card's panel (plugin_nas_oss.panel) and the admin's NAS pages: command
  log, vendor profiles, an account's diagnostics buttons (plugin_nas_oss.admin);
- the demo: a NAS agent and accounts, the emulated NAS and the RADIUS server
  (plugin_nas_oss.demo).
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from core import hookimpl
from plugin_nas_oss import commands, deliveries, demo, search
from plugin_nas_oss.agent import AGENT_TYPE, unique_ip
from plugin_nas_oss.cli import nas
from plugin_nas_oss.config import SCHEMA
from plugin_nas_oss.panel import account_panel
from plugin_nas_oss.radius_server_cli import radius
from plugin_nas_oss.sync import jobs as sync_jobs

#: Functions of the runtime returning a list of core.JobSpec each (users_from_nas…).
jobs: list = [sync_jobs]  # users_from_nas per NAS (plugin_nas_oss.sync)

nas.add_command(radius)  # abonent nas radius (plugin_nas_oss.radius_server_cli)

if not event.contains(Session, "before_flush", unique_ip):
    event.listen(Session, "before_flush", unique_ip)


@hookimpl
def abonent_agent_types():
    return [AGENT_TYPE]


@hookimpl
def abonent_config_schema():
    return SCHEMA


@hookimpl
def abonent_migrations():
    """The plugin's Alembic branch "nas_oss" (nas_session, …)."""
    return Path(__file__).parent / "migrations"


@hookimpl
def abonent_cli_commands():
    return [nas]


@hookimpl
def abonent_jobs(runtime):
    return [spec for factory in jobs for spec in factory(runtime)]


@hookimpl
def abonent_account_panel(session, account):
    return account_panel(session, account)


@hookimpl
def abonent_search_accounts(session, term):
    return search.account_ids(term)  # by IP or MAC (plugin_nas_oss.search)


@hookimpl
def abonent_admin_views(runtime):
    from plugin_nas_oss import admin  # Flask only where the admin runs
    return admin.views()


@hookimpl
def abonent_demo_data(session, runtime):
    demo.load(session, runtime)


@hookimpl
def abonent_demo_services(runtime):
    return demo.start(runtime)


abonent_delivery_facts = hookimpl(commands.delivery_facts)
abonent_account_created = hookimpl(deliveries.account_created)
abonent_account_changed = hookimpl(deliveries.account_changed)
abonent_account_trashed = hookimpl(deliveries.account_trashed)
abonent_account_restored = hookimpl(deliveries.account_restored)
abonent_block_set = hookimpl(deliveries.block_set)
abonent_block_lifted = hookimpl(deliveries.block_lifted)
abonent_subscription_assigned = hookimpl(deliveries.subscription_assigned)
abonent_subscription_activated = hookimpl(deliveries.subscription_activated)
abonent_subscription_deactivated = hookimpl(deliveries.subscription_deactivated)
abonent_subscription_expired = hookimpl(deliveries.subscription_ended)
abonent_subscription_removed = hookimpl(deliveries.subscription_ended)
