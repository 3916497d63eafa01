"""One OSS command to one NAS: the profile's action filled in with the account's values,
sent by its transport, written to the command log, and its answer mapped to the outbox's
outcomes once (docs/hooks.md, "Outcomes of a delivery"):

- ACK → done;
- no answer (Carbon's exit code 254) → `RetryLater("NAS silent …")`: an outage costs no
  attempts, and the delivery holds back the later ones of its contract, so a block and
  its lifting never reach the NAS reversed;
- NAK → `Rejected` with the Error-Cause's name, a dead letter a person reads — except
  Session-Context-Not-Found (503): the subscriber has no session, so there is nothing to
  change or disconnect (the RADIUS server answers the next login by the account's state;
  a repeated Disconnect whose first answer was lost gets it too).

A `Step` is one command of a delivery; `run_steps` sends a delivery's steps in order and
skips those its earlier attempts already got acknowledged (command_log.done_steps).
What a delivery needs from the database — its NAS's settings, the account's open
session, the steps done before — is read with the outbox's claim for the whole batch
(`delivery_facts`, three statements); the command log rows of all its steps go in
together when it ends, with those of the deliveries ending at the same time
(command_log.GroupWriter): about one short transaction for a handful of deliveries.
"""
from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import String, bindparam, cast, select

from core import Account, Agent, Rejected, RetryLater, ValidationError, now
from plugin_nas_oss import coa, command_log
from plugin_nas_oss.agent import CODE, NasSettings
from plugin_nas_oss.command_log import ACK, ERROR, NAK, NO_SESSION, SILENT, SKIPPED
from plugin_nas_oss.profiles import Action
from plugin_nas_oss.sessions import NasSession

log = logging.getLogger("abonent.nas_oss")

SESSION_NOT_FOUND = "Session-Context-Not-Found"


@dataclass(frozen=True)
class Step:
    """A command for an account on a NAS, with the values its templates use (the account's
    own, or the old ones for a user_del after a key-parameter change)."""

    command: str
    agent_id: int
    account_id: int | None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    outcome: str
    answer: str = ""


@dataclass(frozen=True)
class Target:
    """A step's NAS as the delivery read it: its settings (or why they do not do) and the
    account's open session on it."""

    nas: NasSettings | None
    session_id: str | None
    problem: str | None = None


@dataclass(frozen=True)
class Facts:
    """What a delivery's steps need from the database: a Target per NAS agent, and the
    steps its earlier attempts got done."""

    targets: dict[int, Target]
    done: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Wanted:
    """Whose facts to read: the NAS agents of a delivery's steps, its account, its key."""

    agents: frozenset[int]
    account_id: int | None
    delivery_key: str | None


def run_steps(ctx, steps: list[Step], delivery_key: str | None = None,
              quick: float | None = None, facts: Facts | None = None) -> list[Result]:
    """Send `steps` (one account's commands) in order; raises RetryLater / Rejected as the
    first that fails says (see the module's docstring). `facts`: as the outbox's claim
    read them (delivery_facts); read here when not given. `quick`: one try of at most that
    many seconds instead of the NAS's timeout and retries (a person is waiting)."""
    if facts is None:
        wanted = Wanted(frozenset(step.agent_id for step in steps),
                        steps[0].account_id if steps else None, delivery_key)
        with ctx.session() as session:
            facts = read_facts(session.connection(), {None: wanted})[None]
    rows: list[dict] = []
    try:
        return [_send(step, facts.targets.get(step.agent_id), rows, quick,
                      dict(delivery_key=delivery_key, step=number if delivery_key else None))
                for number, step in enumerate(steps) if number not in facts.done]
    finally:
        if rows:
            command_log.write_group(ctx, rows)


def delivery_facts(session, events) -> dict[int, Facts]:
    """Hook `abonent_delivery_facts`: the Facts of a claimed batch's NAS deliveries, read in
    the claim's transaction (three statements for the batch, not a transaction each)."""
    wanted = {}
    for event in events:
        account, old = event.payload.get("account"), event.payload.get("old") or {}
        if not isinstance(account, dict) or CODE not in (account.get("agent_type"),
                                                          old.get("agent_type")):
            continue
        agents = {account.get("agent_id"), old.get("agent_id")} - {None}
        wanted[event.id] = Wanted(frozenset(agents), account.get("id"), event.idempotency_key)
    return read_facts(session.connection(), wanted) if wanted else {}


@functools.cache
def _reads():
    """The three reads of read_facts, built once (Core: the ORM's execution costs more)."""
    agents = select(Agent.id, Agent.type, Agent.name, cast(Agent.settings, String)).where(
        Agent.id.in_(bindparam("agents", expanding=True)))
    sessions = select(NasSession.agent_id, NasSession.account_id, NasSession.session_id).where(
        NasSession.account_id.in_(bindparam("accounts", expanding=True)),
        NasSession.stopped_at.is_(None)).order_by(NasSession.started_at)
    return agents, sessions, command_log.done_steps()


def read_facts(connection, wanted: dict[Any, Wanted]) -> dict[Any, Facts]:
    """The Facts of each entry of `wanted`: the NAS agents' settings (parsed once per
    version of their text), the accounts' latest open sessions, the deliveries' done steps."""
    agents_read, sessions_read, done_read = _reads()
    nases: dict[int, tuple[NasSettings | None, str | None]] = {}
    for agent_id, agent_type, name, settings in connection.execute(agents_read, {
            "agents": sorted(set().union(*(w.agents for w in wanted.values())))}):
        if agent_type == CODE:
            try:
                nases[agent_id] = (_settings(agent_id, settings), None)
            except ValidationError as exc:
                nases[agent_id] = (None, f"NAS {name} settings: {exc}")
    accounts = sorted({w.account_id for w in wanted.values()} - {None})
    sessions = {(agent_id, account_id): session_id for agent_id, account_id, session_id in (
        connection.execute(sessions_read, {"accounts": accounts}) if accounts else ())}
    keys = sorted({w.delivery_key for w in wanted.values()} - {None})
    done: dict[str, set[int]] = {}
    for key, step in connection.execute(done_read, {"keys": keys}) if keys else ():
        done.setdefault(key, set()).add(step)
    return {entry: Facts({agent_id: Target(*nases[agent_id][:1],
                                           sessions.get((agent_id, w.account_id)),
                                           nases[agent_id][1])
                          for agent_id in w.agents if agent_id in nases},
                         frozenset(done.get(w.delivery_key, ())))
            for entry, w in wanted.items()}


@functools.lru_cache(maxsize=256)
def _settings(agent_id: int, settings: str | None) -> NasSettings:
    """A NAS's settings parsed and validated once per version of their text."""
    return NasSettings.of(agent_id, json.loads(settings) if settings else None)


def _send(step: Step, target: Target | None, rows: list[dict], quick: float | None,
          record: dict) -> Result:
    """Send one command, its command log row appended to `rows`."""
    if target is None:
        raise Rejected(f"{step.command}: agent {step.agent_id} is not a NAS")
    if target.nas is None:
        raise Rejected(target.problem)
    nas = target.nas
    if quick is not None:
        nas = replace(nas, timeout=min(quick, nas.timeout), retries=0)
    values = {**step.values, "nas_ip": nas.address}
    if step.account_id is not None and not values.get("session_id"):
        values["session_id"] = target.session_id
    action = nas.profile.action(step.command)
    if action.transport == "none":
        return Result(SKIPPED)
    record.update(agent_id=nas.agent_id, account_id=step.account_id, command=step.command,
                  transport=action.transport, target="")
    log_row = functools.partial(_log, rows, record)
    if not nas.in_service:
        log_row([], SKIPPED, "NAS out of service: not sent")
        return Result(SKIPPED, "NAS out of service")
    if action.transport == "napalm":
        return _napalm(log_row, nas, action, values, record)
    return _radius(log_row, nas, action, values, record, step.command)


def _radius(log_row, nas: NasSettings, action: Action, values: dict, record: dict,
            command: str) -> Result:
    policy = action.render(values)
    if action.attributes and not policy:
        log_row([], SKIPPED, "nothing to send: no value for the profile's attributes")
        return Result(SKIPPED)
    identify = [pair for pair in Action("coa", nas.profile.identify).render(values)]
    if not identify:
        raise Rejected(f"{command}: the account has none of the values the {nas.profile.name} "
                       f"profile names a session by")
    attributes = identify + policy
    record["target"] = f"{nas.address}:{nas.coa_port}"
    try:
        answer = coa.send(action.transport, nas.address, nas.coa_port, nas.coa_secret,
                          attributes, timeout=nas.timeout, retries=nas.retries)
    except coa.NasSilent as exc:
        log_row(attributes, SILENT, str(exc))
        raise RetryLater(f"NAS silent: {exc}") from None
    if answer.ok:
        log_row(attributes, ACK, answer.text())
        return Result(ACK, answer.text())
    if answer.error_cause == SESSION_NOT_FOUND:
        log_row(attributes, NO_SESSION, answer.text())
        return Result(NO_SESSION, answer.text())
    log_row(attributes, NAK, answer.text())
    raise Rejected(f"{command}: NAS {nas.address} refused it: "
                   f"Error-Cause {answer.error_cause or 'none given'}")


def _napalm(log_row, nas: NasSettings, action: Action, values: dict, record: dict) -> Result:
    """Configuration (merge → compare → commit) or a getter, through NAPALM."""
    record["target"] = f"{nas.napalm_driver or '-'}:{nas.napalm_host}"
    if not nas.napalm_driver:
        log_row([], SKIPPED, "the NAS has no NAPALM driver")
        return Result(SKIPPED, "the NAS has no NAPALM driver")
    try:
        from plugin_nas_oss import napalm_transport
    except ImportError as exc:
        log_row([], ERROR, f"NAPALM is not installed: {exc}")
        raise Rejected("NAPALM is not installed: pip install 'abonent-nas-oss[napalm]'") from None
    if action.napalm.startswith("get_") or action.napalm in ("ping", "traceroute"):
        text = str(napalm_transport.getter(nas, action.napalm, **_getter_args(action, values)))
        log_row([["getter", action.napalm]], ACK, text)
        return Result(ACK, text)
    config = Action("napalm", (("config", action.napalm),)).render(values)
    if not config:
        log_row([], SKIPPED, "nothing to send: no value for the configuration")
        return Result(SKIPPED)
    change = napalm_transport.apply_config(nas, config[0][1])
    request = [["config", config[0][1]]]
    if change.outcome == "unreachable":
        log_row(request, SILENT, change.error or "")
        raise RetryLater(f"NAS silent: {change.error}")
    if change.outcome == "refused":
        log_row(request, NAK, change.error or "")
        raise Rejected(f"NAPALM change refused: {change.error}")
    log_row(request, ACK, f"{change.outcome}: {change.diff or ''}")
    return Result(ACK, change.diff or change.outcome)


def _getter_args(action: Action, values: dict) -> dict:
    return {"destination": values["ip"]} if action.napalm == "ping" and values.get("ip") else {}


def _log(rows: list[dict], record: dict, request: list, outcome: str, answer: str) -> None:
    """A command log row, written with the delivery's others when it ends (run_steps)."""
    rows.append({**record, "at": now(), "request": [list(pair) for pair in request],
                 "outcome": outcome, "answer": answer})
    log.info("%s → %s: %s %s", record["command"], record["target"], outcome, answer)


def send_command(ctx, account_id: int, command: str, session_id: str | None = None,
                 timeout: float | None = None) -> Result:
    """Send `command` for an account now (the account card's buttons, users_from_nas):
    logged like a delivery's; a silent or refusing NAS is the Result's outcome, not an
    exception. `timeout`: one try of at most that long (a person is waiting)."""
    with ctx.session() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise ValidationError("account_id", f"no account {account_id}")
        values = {"login": account.login, **{k: (account.fields or {}).get(k)
                                             for k in ("ip", "mac", "vlan", "port")}}
        agent_id = account.agent_id
    step = Step(command, agent_id, account_id, {**values, "session_id": session_id})
    try:
        return run_steps(ctx, [step], quick=timeout)[0]
    except RetryLater as exc:
        return Result(SILENT, str(exc))
    except Rejected as exc:
        return Result(NAK, str(exc))
