"""What is installed: each plugin with its distribution, version, hooks, agent types and
configuration (or what is wrong with it). The configuration is shown with the fields its
plugin declares secret masked, so `abonent plugins --json` and the admin's Plugins page can
be pasted into a ticket without leaking a token."""
from __future__ import annotations

from typing import Any

from core.config import Settings
from core.fields import mask_secrets
from core.runtime import Runtime

CORE_DISTRIBUTION = "abonent"


def describe(runtime: Runtime) -> list[dict[str, Any]]:
    """The loaded plugins of a running system (its configuration is valid)."""
    return _rows(runtime.pm, runtime.agent_types, runtime.plugin_configs, {})


def inspect_installed(settings: Settings) -> tuple[list[dict[str, Any]], list[str]]:
    """The plugins as `abonent plugins` lists them: loaded, but neither the database
    opened (a listing creates no SQLite file nor its folder) nor a bad configuration
    section refused; each row's "config_errors" lists that plugin's bad keys instead.
    Also returns the problems of sections no loaded plugin owns."""
    from plugins.host import collect_agent_types, config_problems, make_plugin_manager
    pm = make_plugin_manager(settings)
    configs, problems = config_problems(pm, settings)
    rows = _rows(pm, collect_agent_types(pm), configs, problems)
    listed = {row["name"] for row in rows}
    stray = [str(p) for name, found in problems.items() if name not in listed for p in found]
    return rows, stray


def _rows(pm, agent_types, configs, problems) -> list[dict[str, Any]]:
    from plugins.host import config_schemas
    schemas = config_schemas(pm)
    rows = []
    # a plugin disabled in the configuration is listed by pluggy with None for its object
    loaded = [(name, plugin) for name, plugin in pm.list_name_plugin() if plugin is not None]
    for name, plugin in sorted(loaded, key=lambda item: (item[0] != "core", item[0])):
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        distribution, version = pm.distributions.get(name, (CORE_DISTRIBUTION, _core_version()))
        rows.append({
            "name": name, "distribution": distribution, "version": version, "hooks": hooks,
            "agent_types": sorted(code for code, t in agent_types.items() if t.plugin == name),
            "config": mask_secrets(schemas.get(name, ()), configs.get(name, {})),
            "config_errors": [str(problem) for problem in problems.get(name, [])],
        })
    return rows


def _core_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(CORE_DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"
