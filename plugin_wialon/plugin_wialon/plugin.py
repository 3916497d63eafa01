"""The plugin Abonent loads (entry point `wialon` in the group `abonent.plugins`): each
hook hands over to the module that does the work.

- registration: the "Wialon" agent type (plugin_wialon.agent), the `[plugins.wialon]`
  section (plugin_wialon.config), one daily counting job per agent (plugin_wialon.jobs,
  doing plugin_wialon.collect), `abonent wialon collect` (plugin_wialon.cli);
- the account card's panel (plugin_wialon.panel);
- the demo: data and the emulator (plugin_wialon.demo).
"""
from __future__ import annotations

from core import hookimpl
from plugin_wialon import demo, jobs
from plugin_wialon.agent import AGENT_TYPE
from plugin_wialon.cli import wialon
from plugin_wialon.config import SCHEMA
from plugin_wialon.panel import account_panel


@hookimpl
def abonent_agent_types():
    return [AGENT_TYPE]


@hookimpl
def abonent_config_schema():
    return SCHEMA


@hookimpl
def abonent_jobs(runtime):
    return jobs.specs(runtime)


@hookimpl
def abonent_cli_commands():
    return [wialon]


@hookimpl
def abonent_account_panel(session, account):
    return account_panel(session, account)


@hookimpl
def abonent_demo_data(session, runtime):
    demo.load(session, runtime)


@hookimpl
def abonent_demo_services(runtime):
    return demo.start(runtime)
