"""The scheduled runs: one job per enabled Wialon agent, at the agent's run time.

The scheduler asks for its jobs when it starts, so an agent added or re-timed later is
scheduled from its next start (meanwhile `abonent wialon collect` or the admin's "run
now" runs it). An agent whose settings no longer validate is still scheduled, at the
default time: its run then fails with the setting named, on the admin's jobs page,
instead of the agent silently never being counted.
"""
from __future__ import annotations

from datetime import time
from functools import partial

from core import JobSpec, Runtime, ValidationError
from plugin_wialon.agent import DEFAULT_RUN_TIME, AgentSettings
from plugin_wialon.catchup import count_days
from plugin_wialon.collect import wialon_agents


def job_id(agent_id: int) -> str:
    return f"wialon-collect-{agent_id}"


def daily_run(agent_id: int, ctx) -> dict:
    """Count the days not yet complete (plugin_wialon.catchup) and the operator's today;
    the result carries the run's outcome (ok / partial / failed) and its one-line summary."""
    return count_days(ctx.runtime, agent_id).summary()


def _run_time(agent) -> time:
    try:
        return AgentSettings.of(agent).run_time
    except ValidationError:
        return DEFAULT_RUN_TIME


def specs(runtime: Runtime) -> list[JobSpec]:
    with runtime.session() as session:
        agents = wialon_agents(session)
    jobs = []
    for agent in agents:
        at = _run_time(agent)
        jobs.append(JobSpec(
            id=job_id(agent.id), func=partial(daily_run, agent.id),
            cron={"hour": at.hour, "minute": at.minute},
            description=f"Wialon ({agent.name}): count each account's objects and charge "
                        f"the day's counter service, catching up the days not complete"))
    return jobs
