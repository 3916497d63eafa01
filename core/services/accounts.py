"""Accounts: create (with the tariff's base services), change, tariff change, trash, restore."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import audit, diff
from core.clock import now
from core.errors import Duplicate, ValidationError
from core.events import emit_for_account
from core.models import Account, Agent, Contract, Subscription, Tariff, TariffChange
from core.runtime import runtime_of
from core.services import inputs, subscriptions
from core.services.dates import local_today, planned_day

LOGIN = r"\S+"
#: The account attributes whose old and new values `account_changed` carries.
KEY_FIELDS = ("login", "agent_id", "agent_type", "ext_id", "fields")

_UNSET: Any = object()


def _agent(session: Session, agent_id: Any) -> Agent:
    agent = inputs.fetch(session, Agent, agent_id, "agent_id")
    if not agent.enabled:
        raise ValidationError("agent_id", f"agent {agent.name!r} is disabled")
    return agent


def _tariff(session: Session, tariff_id: Any) -> Tariff:
    tariff = inputs.fetch(session, Tariff, tariff_id, "tariff_id")
    if tariff.archived:
        raise ValidationError("tariff_id", f"tariff {tariff.name!r} is archived")
    return tariff


def _validated(session: Session, agent: Agent, login: Any, fields: Any, tariff_id: int
               ) -> tuple[str, dict, str | None]:
    """Check the login and the agent type's fields; returns (login, fields, ext_id)."""
    login = inputs.text(login, "login", max_len=100, pattern=LOGIN,
                        what="must not contain spaces")
    if fields is not None and not isinstance(fields, dict):
        raise ValidationError("fields", "must be a mapping of field name to value")
    agent_type = runtime_of(session).agent_type(agent.type, "agent_id")
    settings = agent_type.clean_settings(agent.settings)
    cleaned, ext_id = agent_type.clean_account(login, fields, settings, tariff_id)
    return login, cleaned, ext_id


def _login_free(session: Session, agent_id: int, login: str, account_id: int | None = None
                ) -> None:
    query = select(Account.id).where(Account.agent_id == agent_id, Account.login == login,
                                     Account.trashed_at.is_(None))
    if account_id is not None:
        query = query.where(Account.id != account_id)
    taken = session.scalar(query)
    if taken:
        raise Duplicate("login", f"login {login!r} is already used by account {taken} "
                                 f"on this agent")


def _key_values(account: Account) -> dict[str, Any]:
    return {"login": account.login, "agent_id": account.agent_id,
            "agent_type": account.agent.type, "ext_id": account.ext_id,
            "fields": dict(account.fields or {})}


def create_account(session: Session, contract_id: Any, *, login: Any, agent_id: Any,
                   tariff_id: Any, fields: dict | None = None, start_on: Any = None
                   ) -> Account:
    """An account on a contract, with the tariff's base services subscribed from
    `start_on` (default today). Emits `account_created`, then `subscription_assigned`
    for each base service."""
    contract = inputs.fetch(session, Contract, contract_id, "contract_id")
    agent = _agent(session, agent_id)
    tariff = _tariff(session, tariff_id)
    login, cleaned, ext_id = _validated(session, agent, login, fields, tariff.id)
    first_day = inputs.day(start_on, "start_on", required=False)
    if first_day is not None:
        planned_day(session, first_day, "start_on")
    _login_free(session, agent.id, login)
    account = Account(contract=contract, login=login, agent=agent, tariff=tariff,
                      fields=cleaned, ext_id=ext_id)
    session.add(account)
    session.flush()
    emit_for_account(session, "account_created", account, {})
    first_day = first_day or local_today(account)
    for service in tariff.base_services:
        subscriptions.start(session, account, service, start_on=first_day, is_base=True)
    audit(session, "create", "account", account.id,
          {"contract_id": contract.id, "tariff_id": tariff.id, **_key_values(account)})
    return account


def change_account(session: Session, account_id: Any, *, login: Any = _UNSET,
                   agent_id: Any = _UNSET, fields: Any = _UNSET) -> Account:
    """Change the login, the agent or the extra fields (given whole, as a form sends
    them). Emits `account_changed` with the old and new key values when any changed."""
    account = inputs.fetch(session, Account, account_id, "account_id")
    if account.trashed:
        raise ValidationError("account_id", f"account {account.id} is in the trash")
    old = _key_values(account)
    agent = account.agent if agent_id is _UNSET else _agent(session, agent_id)
    new_login, cleaned, ext_id = _validated(
        session, agent, account.login if login is _UNSET else login,
        {**account.fields, **({"ext_id": account.ext_id} if account.ext_id else {})}
        if fields is _UNSET else fields, account.tariff_id)
    if new_login != account.login or agent.id != account.agent_id:
        _login_free(session, agent.id, new_login, account.id)
    account.login, account.agent, account.fields, account.ext_id = new_login, agent, cleaned, ext_id
    session.flush()
    changes = diff(old, _key_values(account))
    if changes:
        emit_for_account(session, "account_changed", account,
                         {"old": {k: v["old"] for k, v in changes.items()},
                          "new": {k: v["new"] for k, v in changes.items()}},
                         also_agent_types={old["agent_type"]})
        audit(session, "update", "account", account.id, changes)
    return account


def trash_account(session: Session, account_id: Any) -> bool:
    """Move to the trash (never a hard delete). False if it already was there."""
    account = inputs.fetch(session, Account, account_id, "account_id")
    if account.trashed:
        return False
    account.trashed_at = now()
    session.flush()
    emit_for_account(session, "account_trashed", account, {})
    audit(session, "trash", "account", account.id, {"trashed": {"old": False, "new": True}})
    return True


def restore_account(session: Session, account_id: Any) -> bool:
    """Bring back from the trash; refused if its login was taken meanwhile."""
    account = inputs.fetch(session, Account, account_id, "account_id")
    if not account.trashed:
        return False
    _login_free(session, account.agent_id, account.login, account.id)
    account.trashed_at = None
    session.flush()
    emit_for_account(session, "account_restored", account, {})
    audit(session, "restore", "account", account.id, {"trashed": {"old": True, "new": False}})
    return True


def change_tariff(session: Session, account_id: Any, tariff_id: Any, *, on: Any = None
                  ) -> TariffChange:
    """Change the account's tariff on day `on` (default today). A change for a later day
    is planned and carried out by the scheduler (`apply_due_tariff_changes`)."""
    account = inputs.fetch(session, Account, account_id, "account_id")
    if account.trashed:
        raise ValidationError("account_id", f"account {account.id} is in the trash")
    tariff = _tariff(session, tariff_id)
    if tariff.id == account.tariff_id:
        raise ValidationError("tariff_id", f"the account already has tariff {tariff.name!r}")
    today = local_today(account)
    day = inputs.day(on, "on", required=False) or today
    if day < today:
        raise ValidationError("on", "a tariff change cannot be dated in the past")
    planned_day(session, day, "on")
    for planned in session.scalars(select(TariffChange).where(
            TariffChange.account_id == account.id, TariffChange.done_at.is_(None),
            TariffChange.cancelled_at.is_(None))):
        planned.cancelled_at = now()
    change = TariffChange(account=account, old_tariff_id=account.tariff_id,
                          new_tariff_id=tariff.id, effective_on=day)
    session.add(change)
    session.flush()
    audit(session, "plan_tariff_change", "account", account.id,
          {"tariff_id": {"old": account.tariff_id, "new": tariff.id}, "effective_on": day})
    if day == today:
        apply_tariff_change(session, change)
    return change


def apply_tariff_change(session: Session, change: TariffChange) -> None:
    """Carry out a planned change: the old tariff's base services and the add-ons the new
    tariff does not offer end the day before; the new base services start that day."""
    account = session.get(Account, change.account_id)
    old, new = session.get(Tariff, change.old_tariff_id), session.get(Tariff, change.new_tariff_id)
    day: date = change.effective_on
    offered = {item.service_id for item in new.items}
    account.tariff = new
    change.done_at = now()
    session.flush()
    emit_for_account(session, "tariff_changed", account, {
        "old_tariff": _tariff_snapshot(old), "new_tariff": _tariff_snapshot(new),
        "effective_on": day})
    live = session.scalars(select(Subscription).where(
        Subscription.account_id == account.id, Subscription.state != "ended"))
    for subscription in list(live):
        if subscription.is_base or subscription.service_id not in offered:
            subscriptions.end(session, subscription, reason="tariff_change",
                              on=max(day - timedelta(days=1), subscription.start_on))
    for service in new.base_services:
        subscriptions.start(session, account, service, start_on=day, is_base=True)


def apply_due_tariff_changes(session: Session, day: date) -> int:
    """Carry out the planned tariff changes due on or before `day`."""
    due = list(session.scalars(select(TariffChange).where(
        TariffChange.done_at.is_(None), TariffChange.cancelled_at.is_(None),
        TariffChange.effective_on <= day).order_by(TariffChange.id)))
    for change in due:
        if session.get(Account, change.account_id).trashed:
            change.cancelled_at = now()
            continue
        apply_tariff_change(session, change)
    return len(due)


def _tariff_snapshot(tariff: Tariff) -> dict[str, Any]:
    return {"id": tariff.id, "name": tariff.name, "device_limit": tariff.device_limit,
            "base_services": [{"id": s.id, "name": s.name, "external_code": s.external_code,
                               "price": s.price, "method": s.method}
                              for s in tariff.base_services]}
