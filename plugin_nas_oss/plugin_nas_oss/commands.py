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
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select

from core import Account, Agent, Rejected, RetryLater, ValidationError
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


def run_steps(ctx, steps: list[Step], delivery_key: str | None = None) -> list[Result]:
    """Send `steps` in order; raises RetryLater / Rejected as the first that fails says."""
    done: set[int] = set()
    if delivery_key is not None:
        with ctx.session() as session:
            done = command_log.done_steps(session, delivery_key)
    return [send(ctx, step, delivery_key, number) for number, step in enumerate(steps)
            if number not in done]


def send(ctx, step: Step, delivery_key: str | None = None, number: int | None = None,
         quick: float | None = None) -> Result:
    """Send one command (see the module's docstring for what it raises); `quick`: one
    try of at most that many seconds instead of the NAS's timeout and retries."""
    with ctx.session() as session:
        agent = session.get(Agent, step.agent_id)
        if agent is None or agent.type != CODE:
            raise Rejected(f"{step.command}: agent {step.agent_id} is not a NAS")
        try:
            nas = NasSettings.of(agent.id, agent.settings)
        except ValidationError as exc:
            raise Rejected(f"NAS {agent.name} settings: {exc}") from None
        if quick is not None:
            nas = replace(nas, timeout=min(quick, nas.timeout), retries=0)
        values = {**step.values, "nas_ip": nas.address}
        if step.account_id is not None and not values.get("session_id"):
            values["session_id"] = _open_session(session, agent.id, step.account_id)
    action = nas.profile.action(step.command)
    if action.transport == "none":
        return Result(SKIPPED)
    record = dict(agent_id=nas.agent_id, account_id=step.account_id, command=step.command,
                  transport=action.transport, delivery_key=delivery_key, step=number)
    if not nas.in_service:
        _log(ctx, record, [], SKIPPED, "NAS out of service: not sent")
        return Result(SKIPPED, "NAS out of service")
    if action.transport == "napalm":
        return _napalm(ctx, nas, action, values, record)
    return _radius(ctx, nas, action, values, record, step.command)


def _radius(ctx, nas: NasSettings, action: Action, values: dict, record: dict,
            command: str) -> Result:
    policy = action.render(values)
    if action.attributes and not policy:
        _log(ctx, record, [], SKIPPED, "nothing to send: no value for the profile's attributes")
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
        _log(ctx, record, attributes, SILENT, str(exc))
        raise RetryLater(f"NAS silent: {exc}") from None
    if answer.ok:
        _log(ctx, record, attributes, ACK, answer.text())
        return Result(ACK, answer.text())
    if answer.error_cause == SESSION_NOT_FOUND:
        _log(ctx, record, attributes, NO_SESSION, answer.text())
        return Result(NO_SESSION, answer.text())
    _log(ctx, record, attributes, NAK, answer.text())
    raise Rejected(f"{command}: NAS {nas.address} refused it: "
                   f"Error-Cause {answer.error_cause or 'none given'}")


def _napalm(ctx, nas: NasSettings, action: Action, values: dict, record: dict) -> Result:
    """Configuration (merge → compare → commit) or a getter, through NAPALM."""
    record["target"] = f"{nas.napalm_driver or '-'}:{nas.napalm_host}"
    if not nas.napalm_driver:
        _log(ctx, record, [], SKIPPED, "the NAS has no NAPALM driver")
        return Result(SKIPPED, "the NAS has no NAPALM driver")
    try:
        from plugin_nas_oss import napalm_transport
    except ImportError as exc:
        _log(ctx, record, [], ERROR, f"NAPALM is not installed: {exc}")
        raise Rejected("NAPALM is not installed: pip install 'abonent-nas-oss[napalm]'") from None
    if action.napalm.startswith("get_") or action.napalm in ("ping", "traceroute"):
        text = str(napalm_transport.getter(nas, action.napalm, **_getter_args(action, values)))
        _log(ctx, record, [["getter", action.napalm]], ACK, text)
        return Result(ACK, text)
    config = Action("napalm", (("config", action.napalm),)).render(values)
    if not config:
        _log(ctx, record, [], SKIPPED, "nothing to send: no value for the configuration")
        return Result(SKIPPED)
    change = napalm_transport.apply_config(nas, config[0][1])
    request = [["config", config[0][1]]]
    if change.outcome == "unreachable":
        _log(ctx, record, request, SILENT, change.error or "")
        raise RetryLater(f"NAS silent: {change.error}")
    if change.outcome == "refused":
        _log(ctx, record, request, NAK, change.error or "")
        raise Rejected(f"NAPALM change refused: {change.error}")
    _log(ctx, record, request, ACK, f"{change.outcome}: {change.diff or ''}")
    return Result(ACK, change.diff or change.outcome)


def _getter_args(action: Action, values: dict) -> dict:
    return {"destination": values["ip"]} if action.napalm == "ping" and values.get("ip") else {}


def _open_session(session, agent_id: int, account_id: int) -> str | None:
    """The Acct-Session-Id of the account's latest open session on this NAS, if any."""
    return session.scalar(select(NasSession.session_id).where(
        NasSession.agent_id == agent_id, NasSession.account_id == account_id,
        NasSession.stopped_at.is_(None)).order_by(NasSession.started_at.desc()).limit(1))


def _log(ctx, record: dict, request: list, outcome: str, answer: str) -> None:
    with ctx.session() as session:
        command_log.write(session, request=[list(pair) for pair in request], outcome=outcome,
                          answer=answer, **record)
    log.info("%s → %s: %s %s", record["command"], record.get("target", ""), outcome, answer)


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
        return send(ctx, step, quick=timeout)
    except RetryLater as exc:
        return Result(SILENT, str(exc))
    except Rejected as exc:
        return Result(NAK, str(exc))
