"""Loading plugins and building the `Runtime`.

Plugins are found through the entry-point group `abonent.plugins` (the entry point's
name is the plugin's name); the core's own defaults are registered through the same
hooks as a plugin named "core". Any function whose name starts with `abonent_` is taken
as a hook implementation (as pytest does with `pytest_`), so a misspelled hook fails at
start-up by name instead of silently never being called.
"""
from __future__ import annotations

import difflib
import inspect
from dataclasses import replace
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

import pluggy
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from core import hookspecs
from core.agents import AgentType
from core.config import Settings
from core.db import make_engine
from core.errors import ConfigError, PluginError, ValidationError
from core.fields import Field, field_problems
from core.migrate import SCRIPTS, Branches
from core.runtime import Runtime

GROUP = "abonent.plugins"
PREFIX = "abonent_"
SPEC_NAMES = sorted(name for name in dir(hookspecs) if name.startswith(PREFIX))
#: How alike (difflib's ratio, names without the prefix) a misspelled hook name must be
#: to a real one for "did you mean": "acount_created" is, "sms_log" is not like "jobs".
HINT_CUTOFF = 0.75


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, taking every `abonent_*` callable as a hook implementation."""

    def __init__(self):
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        #: plugin name -> (distribution, version) for plugins loaded from entry points
        self.distributions: dict[str, tuple[str, str]] = {}

    def parse_hookimpl_opts(self, plugin, name):
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(PREFIX) and callable(getattr(plugin, name, None)):
            opts = {"wrapper": False, "hookwrapper": False, "optionalhook": False,
                    "tryfirst": False, "trylast": False, "specname": None}
        return opts

    def register_checked(self, plugin: Any, name: str) -> None:
        _check_arguments(plugin, name)
        try:
            self.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            raise PluginError(f"plugin {name!r}: {detail}") from None
        except ValueError as exc:  # a second plugin of the same name
            raise PluginError(f"plugin {name!r} cannot be registered: {exc}") from None

    def check(self) -> None:
        """tox's `check_pending()`, with a hint for misspelled hook names."""
        for hook_name in dir(self.hook):
            caller = getattr(self.hook, hook_name)
            if not isinstance(caller, pluggy.HookCaller) or caller.spec is not None:
                continue
            for impl in caller.get_hookimpls():
                hint = _close_hook(hook_name)
                raise PluginError(
                    f"plugin {impl.plugin_name!r} implements unknown hook {hook_name!r}"
                    + (f"; did you mean {hint!r}?" if hint else
                       f" (every function named {PREFIX}… is taken as a hook: rename a "
                       f"helper, e.g. without the prefix)"))
        self.check_pending()

    def impls(self, hook_name: str) -> list[pluggy.HookImpl]:
        return getattr(self.hook, hook_name).get_hookimpls()

    def call_one(self, hook_name: str, plugin_name: str, **kwargs: Any) -> Any:
        """Call one plugin's implementation of a hook (a delivery, a reconcile)."""
        for impl in self.impls(hook_name):
            if impl.plugin_name == plugin_name:
                return impl.function(*[kwargs[arg] for arg in impl.argnames])
        raise LookupError(f"plugin {plugin_name!r} does not implement {hook_name}")


def _close_hook(name: str) -> str | None:
    """The hook a misspelled name most likely meant, compared without the common prefix
    (with it, "abonent_sms_log" would be "close" to "abonent_jobs")."""
    stems = {spec[len(PREFIX):]: spec for spec in SPEC_NAMES}
    found = difflib.get_close_matches(name[len(PREFIX):], stems, n=1, cutoff=HINT_CUTOFF)
    return stems[found[0]] if found else None


def _required_arguments(function: Any) -> list[str] | None:
    """The argument names pluggy passes by (those without a default), or None when the
    callable has no signature to read."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    return [p.name for p in parameters if p.default is p.empty and p.kind in (
        p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _check_arguments(plugin: Any, name: str) -> None:
    """A hook implementation takes some or all of the specification's arguments, by the
    specification's names (the host passes them by name): `context` for `ctx` is refused
    at start-up, naming the hook, the plugin, the names expected and those given."""
    for hook in SPEC_NAMES:
        function = getattr(plugin, hook, None)
        given = _required_arguments(function) if callable(function) else None
        if given is None:
            continue
        expected = list(inspect.signature(getattr(hookspecs, hook)).parameters)
        strange = [arg for arg in given if arg not in expected]
        if not strange:
            continue
        missing = [arg for arg in expected if arg not in given]
        hint = (f"; did you mean {missing[0]!r} for {strange[0]!r}?"
                if len(strange) == len(missing) == 1 else "")
        raise PluginError(
            f"plugin {name!r}: {hook}({', '.join(given)}) takes "
            f"{', '.join(map(repr, strange))}, which the hook does not pass: its arguments "
            f"are ({', '.join(expected)}), and an implementation takes any of them by these "
            f"names{hint}")


def builtin_plugins() -> list[tuple[str, ModuleType]]:
    from plugins import builtin, webhooks
    return [("core", builtin), ("webhooks", webhooks)]


def make_plugin_manager(settings: Settings, extra: Iterable[tuple[str, Any]] = (),
                        load_entrypoints: bool = True) -> PluginManager:
    pm = PluginManager()
    for name in settings.disabled_plugins:
        pm.set_blocked(name)
    for name, plugin in builtin_plugins():
        if not pm.is_blocked(name):
            pm.register_checked(plugin, name)
    if load_entrypoints:
        for ep in entry_points(group=GROUP):
            if pm.is_blocked(ep.name) or pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(f"plugin {ep.name!r} ({ep.value}) failed to import: "
                                  f"{type(exc).__name__}: {exc}") from exc
            pm.register_checked(plugin, ep.name)
            if ep.dist is not None:
                pm.distributions[ep.name] = (ep.dist.name, ep.dist.version)
    for name, plugin in extra:
        if not pm.is_blocked(name):
            pm.register_checked(plugin, name)
    pm.check()
    return pm


def collect_agent_types(pm: PluginManager) -> dict[str, AgentType]:
    found: dict[str, AgentType] = {}
    for impl in pm.impls("abonent_agent_types"):
        for agent_type in impl.function() or []:
            if not isinstance(agent_type, AgentType):
                raise PluginError(f"plugin {impl.plugin_name!r}: abonent_agent_types must "
                                  f"return AgentType objects, got {type(agent_type).__name__}")
            if agent_type.code in found:
                raise PluginError(f"agent type {agent_type.code!r} is declared by both "
                                  f"{found[agent_type.code].plugin!r} and {impl.plugin_name!r}")
            found[agent_type.code] = replace(agent_type, plugin=impl.plugin_name)
    return found


#: Keys any `[plugins.<name>]` section may hold whatever the plugin declares: how the
#: outbox delivers to that plugin (plugins.outbox). They never reach the plugin's config.
DELIVERY_FIELDS = (
    Field("concurrency", "int", default=8, min=1, max=256,
          help="deliveries to this plugin made at once by one worker (its lane's pool); "
               "also the most accounts a hanging platform holds back per worker"),
    Field("rate_limit", "decimal", min=Decimal("0.01"),
          help="at most this many deliveries a second per worker; empty: no limit"),
)
DELIVERY_KEYS = frozenset(f.name for f in DELIVERY_FIELDS)


def delivery_settings(settings: Settings, plugin: str) -> dict[str, Any]:
    """The outbox's settings for one plugin (`concurrency`, `rate_limit`), validated."""
    values, problems = _delivery_problems(settings, plugin)
    if problems:
        raise ConfigError.of(problems)
    return values


def _delivery_problems(settings: Settings, plugin: str
                       ) -> tuple[dict[str, Any], list[ValidationError]]:
    section = settings.plugin_sections.get(plugin) or {}
    return field_problems(DELIVERY_FIELDS, {k: v for k, v in section.items()
                                            if k in DELIVERY_KEYS}, prefix=f"plugins.{plugin}.")


def config_schemas(pm: PluginManager) -> dict[str, list[Field]]:
    """Each plugin's declared settings (`abonent_config_schema`), by plugin name."""
    return {impl.plugin_name: list(impl.function() or [])
            for impl in pm.impls("abonent_config_schema")}


def config_problems(pm: PluginManager, settings: Settings
                    ) -> tuple[dict[str, dict[str, Any]], dict[str, list[ValidationError]]]:
    """Every `[plugins.<name>]` section checked against what its plugin declares: the
    configurations of the plugins whose section is fine, and every problem of each of the
    others (by plugin name), each naming `plugins.<name>.<key>`."""
    schemas = config_schemas(pm)
    loaded = {name for name, plugin in pm.list_name_plugin() if plugin is not None}
    problems: dict[str, list[ValidationError]] = {}
    for name, section in settings.plugin_sections.items():
        if pm.is_blocked(name):
            continue
        if name not in loaded:
            problems[name] = [ValidationError(
                f"plugins.{name}", f"no plugin named {name!r} is installed "
                                   f"(loaded: {', '.join(sorted(loaded))})")]
            continue
        found = _delivery_problems(settings, name)[1]
        if name not in schemas and set(section) - DELIVERY_KEYS:
            found.append(ValidationError(f"plugins.{name}", f"plugin {name!r} has no settings "
                                         f"(only {', '.join(sorted(DELIVERY_KEYS))})"))
        if found:
            problems[name] = found
    configs: dict[str, dict[str, Any]] = {}
    for name, fields in schemas.items():
        own = {k: v for k, v in (settings.plugin_sections.get(name) or {}).items()
               if k not in DELIVERY_KEYS}
        values, found = field_problems(fields, own, prefix=f"plugins.{name}.")
        if found or name in problems:
            problems.setdefault(name, []).extend(found)
        else:
            configs[name] = values
    return configs, problems


def validate_plugin_configs(pm: PluginManager, settings: Settings) -> dict[str, dict[str, Any]]:
    """The plugins' configurations; every bad key of every section in one ConfigError."""
    configs, problems = config_problems(pm, settings)
    if problems:
        raise ConfigError.of([p for found in problems.values() for p in found])
    return configs


def collect_listeners(pm: PluginManager, agent_types: dict[str, AgentType]
                      ) -> dict[str, list[tuple[str, frozenset[str]]]]:
    owned: dict[str, set[str]] = {}
    for code, agent_type in agent_types.items():
        owned.setdefault(agent_type.plugin, set()).add(code)
    return {f"{PREFIX}{name}": [(impl.plugin_name, frozenset(owned.get(impl.plugin_name, ())))
                                for impl in pm.impls(f"{PREFIX}{name}")]
            for name in hookspecs.NOTIFICATIONS}


def _migrations_folder(name: str, hook: Any) -> Path | None:
    """A plugin's `abonent_migrations()` folder, checked: it exists and its first
    revision carries the plugin's name as branch label."""
    found = hook()
    if found is None:
        return None
    folder = Path(found).resolve()
    if not folder.is_dir():
        raise PluginError(f"plugin {name!r}: abonent_migrations returned {str(found)!r}, "
                          f"which is not a folder")
    scripts = ScriptDirectory(str(SCRIPTS), version_locations=[str(SCRIPTS / "versions"),
                                                               str(folder)])
    bases = [script for script in scripts.walk_revisions()
             if script.down_revision is None and Path(script.path).parent == folder]
    for script in bases:
        if name not in (script.branch_labels or ()):
            raise PluginError(f"plugin {name!r}: the first revision of its migrations "
                              f"({Path(script.path).name}) must have branch_labels = "
                              f"({name!r},), down_revision = None and depends_on the core "
                              f"revision it needs")
    return folder


def _installed_folders(names: Iterable[str] | None = None) -> dict[str, Path]:
    """Migration folders of installed plugins (entry points), of `names` only if given;
    loaded without being registered. One that cannot even be imported keeps no tables
    anybody can read: it is left out here and reported when it is enabled."""
    wanted = None if names is None else set(names)
    found: dict[str, Path] = {}
    for ep in entry_points(group=GROUP):
        if wanted is not None and ep.name not in wanted:
            continue
        try:
            hook = getattr(ep.load(), "abonent_migrations", None)
        except Exception:
            continue
        if hook is not None and (folder := _migrations_folder(ep.name, hook)):
            found[ep.name] = folder
    return found


def branches_of(pm: PluginManager, settings: Settings) -> Branches:
    """The schema's branches: each enabled plugin's (`abonent_migrations`), and those of
    every other installed plugin (disabled in the configuration, or not loaded), whose
    revisions the database may still hold: read, never upgraded or required. Without
    them, a plugin revision that depends on the core's head (Alembic then records only
    the plugin's) would hide the core's revision and the database would look unmigrated."""
    enabled = {impl.plugin_name: folder for impl in pm.impls("abonent_migrations")
               if (folder := _migrations_folder(impl.plugin_name, impl.function))}
    dormant = {name: folder for name, folder in _installed_folders().items()
               if name not in enabled}
    return Branches(enabled=enabled, dormant=dormant)


def installed_branches() -> Branches:
    """Every installed plugin's branch as if all were enabled: what a shared test
    database is migrated to, so `abonent` run against it finds it current."""
    return Branches(enabled=_installed_folders())


def model_packages(pm: PluginManager) -> dict[str, str]:
    """Plugin name -> the top-level package of its code, where its models (tables on the
    core's Base) live: what `core.migrate.differences` compares besides the core."""
    packages = {}
    for name, plugin in pm.list_name_plugin():
        if plugin is not None and name != "core":
            module = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
            packages[name] = module.split(".")[0]
    return packages


def build_runtime(settings: Settings, *, extra_plugins: Iterable[tuple[str, Any]] = (),
                  load_entrypoints: bool = True, engine: Engine | None = None) -> Runtime:
    """Load the plugins, validate their configuration and open the database engine."""
    pm = make_plugin_manager(settings, extra_plugins, load_entrypoints)
    agent_types = collect_agent_types(pm)
    plugin_configs = validate_plugin_configs(pm, settings)
    listeners = collect_listeners(pm, agent_types)
    runtime = Runtime(settings=settings, pm=pm, agent_types=agent_types,
                      engine=engine or make_engine(settings.database_url,
                                                   **_pool_for(settings, listeners)),
                      plugin_configs=plugin_configs, listeners=listeners)
    runtime.filters = {impl.plugin_name: wants for impl in pm.impls("abonent_delivery_filter")
                       if (wants := pm.call_one("abonent_delivery_filter", impl.plugin_name,
                                                runtime=runtime)) is not None}
    return runtime


def _pool_for(settings: Settings, listeners: dict[str, list[tuple[str, frozenset[str]]]]
              ) -> dict[str, int]:
    """A PostgreSQL pool that keeps a connection for every delivery thread of a worker
    (each plugin's `concurrency`) besides the usual ten: a smaller one would close and
    reopen connections on every delivery beyond it, or make threads wait for one."""
    if not settings.database_url.startswith("postgresql"):
        return {}
    plugins = {plugin for found in listeners.values() for plugin, _ in found}
    threads = sum(delivery_settings(settings, plugin)["concurrency"] for plugin in plugins)
    return {"pool_size": 10 + threads}
