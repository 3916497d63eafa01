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

from core import hookimpl
from plugin_jambox import config
from plugin_jambox.agent import AGENT_TYPE
from plugin_jambox.cli import jambox

#: the `[plugins.jambox]` fields
CONFIG = [*config.SCHEMA]
#: functions runtime → JobSpec, one per scheduled job
JOBS: list = []


@hookimpl
def abonent_agent_types():
    return [AGENT_TYPE]


@hookimpl
def abonent_config_schema():
    return CONFIG


@hookimpl
def abonent_jobs(runtime):
    return [job(runtime) for job in JOBS]


@hookimpl
def abonent_cli_commands():
    return [jambox]
