"""The running system as the core sees it: settings, database, hooks and agent types.

The plugin host builds one `Runtime` at start-up; every session it opens carries it in
`session.info["runtime"]`, so a service function given only a session can call hooks,
look up agent types and write events for the right plugins.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterator

import pluggy
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.agents import AgentType
from core.errors import NotFound
from core.jobs import run_job


@dataclass
class Runtime:
    settings: Any  # core.config.Settings
    engine: Engine
    pm: pluggy.PluginManager
    agent_types: dict[str, AgentType] = field(default_factory=dict)
    plugin_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: notification hook name -> [(plugin name, agent types it owns)], filled by the host
    listeners: dict[str, list[tuple[str, frozenset[str]]]] = field(default_factory=dict)
    #: plugin name -> its `wants(session, hook_name)` (abonent_delivery_filter), filled
    #: by the host for the plugins that want only some of their notifications
    filters: dict[str, Callable[[Session, str], bool]] = field(default_factory=dict)

    @cached_property
    def _sessions(self) -> sessionmaker:
        return sessionmaker(self.engine, expire_on_commit=False)

    @property
    def hook(self):
        return self.pm.hook

    @contextmanager
    def session(self, actor: str = "system", commit: bool = True) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises.

        `actor` is who acts ("cli", "manager:ivan", "plugin:tv24"); services write it to
        the audit log and to blocks and payments they create. `commit=False` rolls back
        at the end whatever happens: a dry run does the real work and keeps none of it.
        """
        session = self._sessions(info={"runtime": self, "actor": actor})
        try:
            yield session
            if commit:
                session.commit()
            else:
                session.rollback()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def agent_type(self, code: str, field_name: str = "agent_type") -> AgentType:
        try:
            return self.agent_types[code]
        except KeyError:
            raise NotFound(field_name, f"agent type {code!r} is not installed "
                                       f"(installed: {', '.join(sorted(self.agent_types)) or 'none'})"
                           ) from None

    def subscribers(self, session: Session, hook_name: str,
                    agent_types: frozenset[str] | set[str] = frozenset()) -> list[str]:
        """Plugins that get a delivery of this notification, written in `session`.

        A plugin that declares agent types hears about accounts of its own types only; a
        plugin without agent types (an exporter, a notifier) hears about every account.
        Events not about an account (no agent types given) go to every listener. A
        plugin with a filter (abonent_delivery_filter) gets only the events it wants.
        """
        result = []
        for plugin, owned in self.listeners.get(hook_name, ()):
            if owned and agent_types and not owned & set(agent_types):
                continue
            wants = self.filters.get(plugin)
            if wants is None or wants(session, hook_name):
                result.append(plugin)
        return result

    def context(self, plugin: str, deferred: list | None = None) -> "PluginContext":
        return PluginContext(plugin, self.plugin_configs.get(plugin, {}), self, deferred)


@dataclass(frozen=True)
class PluginContext:
    """What a plugin's hook receives as `ctx`: its name, its validated configuration, a
    way to open its own transactions (audited as `plugin:<name>`) and to run a job.

    In a delivery, `deferred` collects the writes `write` leaves to the outbox (see
    `write`); elsewhere it is None and `write` writes at once."""

    name: str
    config: dict[str, Any]
    runtime: Runtime
    deferred: list[Callable[[Session], None]] | None = None

    def session(self):
        return self.runtime.session(actor=f"plugin:{self.name}")

    def write(self, change: Callable[[Session], None]) -> None:
        """Write `change(session)`: in a delivery, in the transaction that records the
        delivery as done (the outbox's one transaction for a batch), else now in a
        transaction of its own.

        Why: a delivery that remembers what the platform answered (a link to the user it
        created) would otherwise open a transaction after every call; recorded with the
        outcome it costs one statement, and it becomes visible exactly when the delivery
        is done, so the contract's next delivery (claimed only after that) reads it. If
        the worker dies before recording, the delivery runs again, as for a lost answer.
        A failing change makes the delivery a failed attempt (retried), never half done.
        Deferred changes run in the order given, after the hook returned: a delivery that
        defers one should defer every write it makes, and not read back what it wrote."""
        if self.deferred is None:
            with self.session() as session:
                change(session)
        else:
            self.deferred.append(change)

    def run_job(self, job_id: str, trigger: str = "manual") -> dict[str, Any]:
        """Run a registered job now, recorded like a scheduled run (see core.jobs);
        returns {"run_id", "status", "summary", "result", "error"}."""
        return run_job(self.runtime, job_id, trigger=trigger)


def runtime_of(session: Session) -> Runtime:
    try:
        return session.info["runtime"]
    except KeyError:
        raise RuntimeError("this session was not opened by Runtime.session()") from None


def actor_of(session: Session) -> str:
    return session.info.get("actor", "system")
