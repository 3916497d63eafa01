"""users_from_nas: Carbon's synchronisation of a NAS with the billing, as a scheduled job
per NAS whose "synchronise sessions" is on (job id `nas-sync-<agent id>`).

What the NAS has: its open sessions in the accounting table (plugin_nas_oss.sessions, fed
by the RADIUS server), and, where the NAS has a NAPALM driver, the addresses its getter
sees (the profile's users_from_nas getter, get_arp_table by default). What the billing
has: the NAS's live accounts and their states, and the command log. The drift, and the
command that repairs it (sent now through plugin_nas_oss.commands, logged as usual):

| drift | command |
|---|---|
| a blocked account online, the last policy the NAS took not user_drop | user_drop |
| an active account online, the last policy the NAS took user_drop | user_accept |
| a session no live account of this NAS claims (unknown login, trashed) | user_disconnect |
| an active static-IP account whose IP the NAPALM getter does not see | user_add |

A policy command that the NAS never acknowledged (silent, refused) counts as not applied.
The run's outcome: "failed" when the NAS could not be read (the getter failed, NAPALM is
missing) and it is in service, or when every repair failed; "partial" when some did; a
NAS out of service is not synchronised ("ok", said in the summary). A NAS added, or its
switch turned on, is scheduled from the scheduler's next start.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import select

from core import (Account, Agent, Block, JobSpec, ValidationError, effective_state, is_open,
                  job_outcome, now)
from plugin_nas_oss import command_log, commands
from plugin_nas_oss.agent import CODE, NasSettings
from plugin_nas_oss.command_log import ACK, NO_SESSION, NasCommand
from plugin_nas_oss.sessions import open_sessions

log = logging.getLogger("abonent.nas_oss.sync")

CRON = {"minute": "*/10"}
POLICY = ("user_drop", "user_accept")
DEFAULT_GETTER = "get_arp_table"
#: What the NAS took (or had no session for); "skipped" (not sent) is not among them.
APPLIED = (ACK, NO_SESSION)


@dataclass
class Drift:
    kind: str
    detail: str
    command: str
    account_id: int | None = None
    session: dict = field(default_factory=dict)  # an unknown session's facts, to name it
    outcome: str = ""  # the command's, once sent

    @property
    def fixed(self) -> bool:
        """Acknowledged (or the session is gone); "skipped" — the profile has no action for
        the command — leaves the drift where it was."""
        return self.outcome in APPLIED


@dataclass
class Report:
    agent_id: int
    checked: int = 0
    drift: list[Drift] = field(default_factory=list)
    error: str | None = None


def _states(session, account_ids: list[int]) -> dict[int, str]:
    found: dict[int, set[str]] = {i: set() for i in account_ids}
    if account_ids:
        rows = session.execute(select(Block.account_id, Block.source).where(
            Block.account_id.in_(account_ids), is_open(now())))
        for account_id, source in rows:
            found[account_id].add(source)
    return {i: effective_state(sources) for i, sources in found.items()}


def _last_policy(session, agent_id: int, account_ids: list[int]) -> dict[int, NasCommand]:
    """The latest user_drop / user_accept the NAS took, per account."""
    latest: dict[int, NasCommand] = {}
    if account_ids:
        rows = session.scalars(select(NasCommand).where(
            NasCommand.agent_id == agent_id, NasCommand.account_id.in_(account_ids),
            NasCommand.command.in_(POLICY), NasCommand.outcome.in_(APPLIED))
            .order_by(NasCommand.id))
        for row in rows:
            latest[row.account_id] = row
    return latest


def _seen_addresses(nas: NasSettings, optional_args) -> set[str]:
    from plugin_nas_oss.napalm_transport import getter
    name = nas.profile.action("users_from_nas").napalm or DEFAULT_GETTER
    return {str(entry.get("ip")) for entry in getter(nas, name, optional_args) if entry.get("ip")}


def compare(session, nas: NasSettings, seen: set[str] | None) -> Report:
    """The drift between the NAS (its open sessions; `seen`: the addresses its getter
    saw, None without a driver) and the billing."""
    report = Report(nas.agent_id)
    accounts = {a.id: a for a in session.scalars(select(Account).where(
        Account.agent_id == nas.agent_id, Account.trashed_at.is_(None)))}
    states = _states(session, list(accounts))
    policy = _last_policy(session, nas.agent_id, list(accounts))
    report.checked = len(accounts)
    for row in open_sessions(session, nas.agent_id):
        account = accounts.get(row.account_id)
        who = row.username or row.framed_ip or row.session_id
        if account is None:
            report.drift.append(Drift(
                "unknown_session", f"session {row.session_id} of {who}: no live account of "
                f"this NAS", "user_disconnect",
                session={"login": row.username, "ip": row.framed_ip, "mac": row.mac,
                         "session_id": row.session_id}))
            continue
        last = policy.get(account.id)
        if states[account.id] != "active" and (last is None or last.command != "user_drop"):
            report.drift.append(Drift("blocked_online", f"{account.login} is "
                                      f"{states[account.id]} and online without user_drop",
                                      "user_drop", account.id))
        elif states[account.id] == "active" and last is not None and last.command == "user_drop":
            report.drift.append(Drift("restricted_active", f"{account.login} is active but the "
                                      f"NAS last took user_drop", "user_accept", account.id))
    if seen is not None:
        for account in accounts.values():
            fields = account.fields or {}
            if (fields.get("auth_type") == "static" and states[account.id] == "active"
                    and fields.get("ip") and fields["ip"] not in seen):
                report.drift.append(Drift("missing_static", f"{account.login}: {fields['ip']} "
                                          f"not seen on the NAS", "user_add", account.id))
    return report


def _repair(ctx, nas: NasSettings, item: Drift) -> None:
    if item.account_id is not None:
        item.outcome = commands.send_command(ctx, item.account_id, item.command).outcome
        return
    try:
        item.outcome = commands.run_steps(ctx, [commands.Step(item.command, nas.agent_id, None,
                                                              item.session)])[0].outcome
    except Exception as exc:  # RetryLater / Rejected: logged by commands; the run says so
        item.outcome = command_log.ERROR
        item.detail += f" ({exc})"


def users_from_nas(ctx, agent_id: int, optional_args: dict | None = None) -> dict:
    """Synchronise one NAS (the job's function); `optional_args` go to its NAPALM driver."""
    with ctx.session() as session:
        agent = session.get(Agent, agent_id)
        if agent is None or agent.type != CODE:
            return {"outcome": "failed", "summary": f"agent {agent_id} is not a NAS"}
        nas = NasSettings.of(agent.id, agent.settings)
        name = agent.name
    if not nas.in_service:
        return {"outcome": "ok", "summary": f"{name}: out of service, not synchronised"}
    seen = None
    if nas.napalm_driver:
        try:
            seen = _seen_addresses(nas, optional_args)
        except Exception as exc:  # connection refused, NAPALM missing, a driver's own error
            return {"outcome": "failed", "summary": f"{name}: cannot read the NAS: {exc}"}
    with ctx.session() as session:
        report = compare(session, nas, seen)
    for item in report.drift:
        _repair(ctx, nas, item)
    failed = sum(1 for item in report.drift if not item.fixed)
    fixed = len(report.drift) - failed
    return {"outcome": job_outcome(failed, fixed) if report.drift else "ok",
            "summary": f"{name}: {report.checked} accounts, {len(report.drift)} drift, "
                       f"{fixed} fixed" + (f", {failed} not fixed" if failed else ""),
            "drift": [{"kind": d.kind, "detail": d.detail, "command": d.command,
                       "account_id": d.account_id, "outcome": d.outcome} for d in report.drift]}


def jobs(runtime) -> list[JobSpec]:
    """One users_from_nas job per enabled NAS agent with "synchronise sessions" on."""
    with runtime.session() as session:
        agents = session.execute(select(Agent.id, Agent.name, Agent.settings).where(
            Agent.type == CODE, Agent.enabled)).all()
    return [JobSpec(id=f"nas-sync-{agent_id}", func=partial(users_from_nas, agent_id=agent_id),
                    cron=CRON, description=f"NAS {name}: users_from_nas (compare sessions with "
                                           f"the billing, send the missing commands)")
            for agent_id, name, settings in agents if _synchronised(agent_id, settings)]


def _synchronised(agent_id: int, settings: dict | None) -> bool:
    """Whether the NAS asks for the job; one whose settings do not validate gets none
    (its agent page says what is wrong) rather than stopping every job's start."""
    try:
        return NasSettings.of(agent_id, settings).sync_sessions
    except ValidationError as exc:
        log.warning("NAS agent %s: no users_from_nas job: %s", agent_id, exc)
        return False
