"""Platform → billing: what each callback does in the billing, inside the caller's
transaction (the HTTP side, its checks and its audit entry are in plugin_tv24.receiver).

Each function returns the reply the platform reads, or raises `Refusal` with a negative
status; the caller then rolls the transaction back, so a refused purchase assigns
nothing. Each is idempotent: a repeated `auth` finds the account it created, a repeated
`packet` finds the subscription it assigned (and charges nothing more), a repeated
`delete_subscription` finds it already deactivated.

`user_id` in the platform's calls is the billing's account id: `auth` answers it, and
it is the `provider_uid` of the platform user the billing creates.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import (Account, Agent, Contract, Duplicate, InsufficientFunds, Operator, Service,
                  Subscription, TariffService, ValidationError, activate, create_account,
                  create_contract, create_subscriber, deactivate, purchase, runtime_of)
from plugin_tv24 import store
from plugin_tv24.agent import CODE, AgentSettings

OK = 1
NOT_FOUND = -1
INSUFFICIENT_FUNDS = -2
NO_PACKET = -3
NO_SUBSCRIPTION = -4


class Raced(Exception):
    """A concurrent callback registered the same phone first: run this one again."""


class Refusal(Exception):
    """A callback answered with a negative status (the platform's error format)."""

    def __init__(self, status: int, message: str, err: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.err = status if err is None else err

    def reply(self) -> dict[str, Any]:
        return {"status": self.status, "err": self.err, "errmsg": self.message}


def _agents(settings: AgentSettings) -> tuple[int, ...]:
    """The agents whose accounts this platform account serves."""
    return tuple({settings.agent_id, settings.default_agent_id})


def account(session: Session, settings: AgentSettings, account_id: int) -> Account:
    """The account behind the platform's `user_id`, locked for this callback (two calls
    for one account run one after the other)."""
    found = session.get(Account, account_id, with_for_update=True)
    if found is None or found.trashed or found.agent_id not in _agents(settings):
        raise Refusal(NOT_FOUND, f"no 24h TV account {account_id}")
    return found


# --- auth -----------------------------------------------------------------------------------

def auth(session: Session, settings: AgentSettings, phone: str,
         platform_user_id: int | None) -> dict[str, Any]:
    """Find the account of `phone` (an account login or tv24_username, else the
    subscriber's card phone), or register one when self-registration is on; link the
    platform user that asked."""
    found = _by_login(session, settings, phone)
    if found is None:
        subscriber = runtime_of(session).hook.abonent_find_subscriber(session=session,
                                                                      phone=phone)
        found = _of_subscriber(session, settings, subscriber) if subscriber else None
        if found is None:
            found = _register(session, settings, phone, subscriber)
    if (platform_user_id is not None and store.user_id(session, found.id) is None
            and store.account_of_user(session, platform_user_id) is None):
        store.link_user(session, found.id, platform_user_id)
    return {"user_id": found.id}


def _by_login(session: Session, settings: AgentSettings, phone: str) -> Account | None:
    return session.scalars(select(Account).where(
        Account.agent_id.in_(_agents(settings)), Account.trashed_at.is_(None),
        or_(Account.login == phone, Account.fields["tv24_username"].as_string() == phone))
        .order_by(Account.id)).first()


def _of_subscriber(session: Session, settings: AgentSettings, subscriber) -> Account | None:
    return session.scalars(select(Account).join(Contract, Contract.id == Account.contract_id)
                           .where(Contract.subscriber_id == subscriber.id,
                                  Account.agent_id.in_(_agents(settings)),
                                  Account.trashed_at.is_(None))
                           .order_by(Account.id)).first()


def registration_problems(session: Session) -> list[str]:
    """Why self-registration would fail for each 24h TV agent that has it on (a
    default_tar_id): the contract it creates takes its number from the operator's
    contract number plan, so without one every `auth` of an unknown phone is refused."""
    operator = session.scalars(select(Operator).order_by(Operator.id).limit(1)).first()
    if operator is not None and operator.contract_plan_id is not None:
        return []
    problems = []
    for agent in session.scalars(select(Agent).where(Agent.type == CODE, Agent.enabled.is_(True))
                                 .order_by(Agent.id)):
        if (agent.settings or {}).get("default_tar_id"):
            problems.append(f"24h TV agent {agent.id} ({agent.name}) registers new users "
                            f"(default_tar_id), but the operator has no contract number "
                            f"plan: every self-registration will be refused until one is set "
                            f"(admin: Settings → Operator → contract number plan)")
    return problems


def _register(session: Session, settings: AgentSettings, phone: str, subscriber) -> Account:
    """Self-registration: subscriber (unless the card exists), contract and account with
    the agent's default agent and tariff. The login is the phone, unique per agent: when
    a concurrent registration of the same phone got there first (the login is taken, or
    the database's unique index refuses the row), `Raced` asks for a second run, which
    finds that account."""
    if settings.default_tar_id is None:
        raise Refusal(NOT_FOUND, f"no subscriber has phone {phone}, and self-registration is "
                                 f"off (the agent has no default_tar_id)", err=1)
    try:
        if subscriber is None:
            subscriber = create_subscriber(session, name=f"24h TV {phone}", phones=[phone])
        contract = session.scalars(select(Contract).where(Contract.subscriber_id == subscriber.id)
                                   .order_by(Contract.id)).first()
        if contract is None:
            contract = create_contract(session, subscriber.id)
        return create_account(session, contract.id, login=phone,
                              agent_id=settings.default_agent_id,
                              tariff_id=settings.default_tar_id)
    except Duplicate as exc:
        if exc.field == "login":
            raise Raced(str(exc)) from None
        raise Refusal(NOT_FOUND, f"self-registration of {phone} failed: {exc}", err=2) from None
    except ValidationError as exc:
        raise Refusal(NOT_FOUND, f"self-registration of {phone} failed: {exc}", err=2) from None


# --- packet ---------------------------------------------------------------------------------

def packet(session: Session, settings: AgentSettings, account_id: int, packet_id: int,
           platform_user_id: int | None) -> dict[str, Any]:
    """Assign the service sold as `packet_id` on the account's tariff and charge its
    current period; a service already live is not bought (nor charged) again."""
    found = account(session, settings, account_id)
    service = session.scalars(
        select(Service).join(TariffService, TariffService.service_id == Service.id)
        .where(TariffService.tariff_id == found.tariff_id,
               Service.external_code == str(packet_id), Service.archived.is_(False))
        .order_by(Service.id)).first()
    if service is None:
        raise Refusal(NO_PACKET, f"packet {packet_id} is not sold on tariff "
                                 f"{found.tariff.name!r} of account {found.id}")
    live = session.scalars(select(Subscription).where(
        Subscription.account_id == found.id, Subscription.service_id == service.id,
        Subscription.state != "ended")).first()
    try:
        if live is None:
            purchase(session, found.id, service.id)
        elif live.state == "inactive":
            activate(session, live.id)
    except InsufficientFunds as exc:
        raise Refusal(INSUFFICIENT_FUNDS, f"insufficient funds: {exc.reason}") from None
    except ValidationError as exc:
        raise Refusal(NO_PACKET, str(exc)) from None
    if (platform_user_id is not None and store.user_id(session, found.id) is None
            and store.account_of_user(session, platform_user_id) is None):
        store.link_user(session, found.id, platform_user_id)
    return {"status": OK}


# --- delete_subscription --------------------------------------------------------------------

def delete_subscription(session: Session, settings: AgentSettings, account_id: int,
                        platform_subscription_id: str, packet_id: int | None) -> dict[str, Any]:
    """Deactivate the subscription the user switched off in the app: the one linked to
    the platform subscription, else the account's live one of that packet."""
    found = account(session, settings, account_id)
    live = select(Subscription).where(Subscription.account_id == found.id,
                                      Subscription.state != "ended")
    local = store.subscription_of(session, platform_subscription_id)
    target = (session.scalars(live.where(Subscription.id == local)).first()
              if local is not None else None)
    if target is None and packet_id is not None:
        target = session.scalars(live.join(Service, Service.id == Subscription.service_id)
                                 .where(Service.external_code == str(packet_id))
                                 .order_by(Subscription.id)).first()
    if target is None:
        raise Refusal(NO_SUBSCRIPTION, f"account {found.id} has no live subscription "
                                       f"{platform_subscription_id}"
                                       + (f" nor of packet {packet_id}" if packet_id else ""))
    if target.state == "active":
        deactivate(session, target.id)
    return {"status": OK}


# --- balance --------------------------------------------------------------------------------

def balance(session: Session, settings: AgentSettings, account_id: int) -> dict[str, Any]:
    found = account(session, settings, account_id)
    return {"balance": str(found.contract.balance.quantize(Decimal("0.01")))}
