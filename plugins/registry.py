"""What is installed: each plugin with its distribution, version, hooks and agent types."""
from __future__ import annotations

from typing import Any

from core.runtime import Runtime

CORE_DISTRIBUTION = "abonent"


def describe(runtime: Runtime) -> list[dict[str, Any]]:
    pm = runtime.pm
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: (item[0] != "core",
                                                                          item[0])):
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        distribution, version = pm.distributions.get(name, (CORE_DISTRIBUTION, _core_version()))
        rows.append({
            "name": name, "distribution": distribution, "version": version, "hooks": hooks,
            "agent_types": sorted(code for code, t in runtime.agent_types.items()
                                  if t.plugin == name),
            "config": runtime.plugin_configs.get(name, {}),
        })
    return rows


def _core_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(CORE_DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"
