"""What the plugin remembers of the platform, kept in core.links (never in account
fields, whose changes would emit events and echo back to the plugin).

- kind "user": account id → platform user id; data may hold "tariff_change" (the mode of
  the last tariff change: "upgrade" or "downgrade") and "next_base_at" (when a planned
  base packet may start, after a downgraded one runs out);
- kind "subscription": our subscription id → platform subscription id; data holds
  "packet_id" and, for a subscription ended by a downgrade but left to run out its paid
  period on the platform, "winding_down": true.

Every function runs inside the caller's (short) transaction.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from core import (Agent, Contract, ExternalLink, LinkWrite, Operator, Subscription, among,
                  delete_link, find_link, get_link)

PLUGIN = "tv24"
USER = "user"
SUBSCRIPTION = "subscription"


class Link(NamedTuple):
    """A link as a delivery reads it (plain columns: no ORM object to build)."""

    local_id: int
    external_id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Known:
    """What a delivery reads before it calls the platform: its agent's type and settings,
    the operator's time zone, the account's user link and, for a subscription's event,
    the account's subscription links (None when not read)."""

    agent_id: int
    agent_type: str
    settings: dict[str, Any]
    timezone: str | None
    user_id: int | None
    user_data: dict[str, Any]
    subscription_links: dict[int, Link] | None = None


def known(session: Session, agent_id: int, contract_id: int, account_id: int,
          with_links: bool) -> Known | None:
    """One delivery's facts (None when the agent is gone), for a delivery the outbox
    claimed without them (see `known_for`)."""
    connection = session.connection()
    row = connection.execute(_reads(connection.dialect.name).account, {
        "agent": agent_id, "contract": contract_id, "account": account_id}).first()
    if row is None:
        return None
    return Known(agent_id, row.type, row.settings, row.timezone,
                 int(row.user_id) if row.user_id is not None else None, row.user_data or {},
                 subscription_links(session, [account_id]) if with_links else None)


def known_for(session: Session, events: list) -> dict[int, Known]:
    """The facts of a claimed batch's deliveries by event id, in four statements for the
    whole batch (`abonent_delivery_facts`); events without an account, or whose agent is
    gone, are left out (their deliveries read for themselves)."""
    accounts = {event.id: event.payload["account"] for event in events
                if isinstance(event.payload.get("account"), dict)}
    if not accounts:
        return {}
    connection = session.connection()
    reads = _reads(connection.dialect.name)

    def rows(statement, key: str, ids: set) -> dict:
        return {row[0]: row for row in connection.execute(statement, {key: list(ids)})}
    agents = rows(reads.agents, "agents", {account["agent_id"] for account in accounts.values()})
    zones = rows(reads.zones, "contracts", {account["contract_id"]
                                            for account in accounts.values()})
    users = rows(reads.users, "accounts", {account["id"] for account in accounts.values()})
    with_links = {accounts[event.id]["id"] for event in events
                  if event.id in accounts and "subscription" in event.payload}
    links = links_by_account(session, with_links)
    found = {}
    for event_id, account in accounts.items():
        agent, user = agents.get(account["agent_id"]), users.get(account["id"])
        zone = zones.get(account["contract_id"])
        if agent is not None:
            found[event_id] = Known(
                agent.id, agent.type, agent.settings, zone.timezone if zone else None,
                int(user.external_id) if user is not None else None,
                (user.data or {}) if user is not None else {},
                links.get(account["id"], {}) if account["id"] in with_links else None)
    return found


class _Reads:
    """The statements of a delivery's facts, built once per dialect (building them cost
    more than running them) and run on the session's connection (no ORM entities)."""

    def __init__(self, dialect: str):
        agent, link = Agent.__table__, ExternalLink.__table__
        contract, operator, subscription = (Contract.__table__, Operator.__table__,
                                            Subscription.__table__)
        zone = (select(operator.c.timezone)
                .join(contract, contract.c.operator_id == operator.c.id)
                .where(contract.c.id == bindparam("contract")).scalar_subquery())
        #: one delivery's agent, operator's time zone and user link (no row: agent gone)
        self.account = (select(agent.c.type, agent.c.settings, zone.label("timezone"),
                               link.c.external_id.label("user_id"),
                               link.c.data.label("user_data"))
                        .select_from(agent.outerjoin(link, and_(
                            link.c.plugin == PLUGIN, link.c.kind == USER,
                            link.c.local_id == bindparam("account"))))
                        .where(agent.c.id == bindparam("agent")))
        self.agents = select(agent.c.id, agent.c.type, agent.c.settings).where(
            among(dialect, agent.c.id, "agents"))
        self.zones = (select(contract.c.id, operator.c.timezone)
                      .join(operator, operator.c.id == contract.c.operator_id)
                      .where(among(dialect, contract.c.id, "contracts")))
        self.users = select(link.c.local_id, link.c.external_id, link.c.data).where(
            link.c.plugin == PLUGIN, link.c.kind == USER,
            among(dialect, link.c.local_id, "accounts"))
        self.links = (select(subscription.c.account_id, link.c.local_id, link.c.external_id,
                             link.c.data)
                      .join(subscription, subscription.c.id == link.c.local_id)
                      .where(link.c.plugin == PLUGIN, link.c.kind == SUBSCRIPTION,
                             among(dialect, subscription.c.account_id, "accounts")))


@functools.cache
def _reads(dialect: str) -> _Reads:
    return _Reads(dialect)


def user_id(session: Session, account_id: int) -> int | None:
    return user(session, account_id)[0]


def user(session: Session, account_id: int) -> tuple[int | None, dict[str, Any]]:
    """The account's platform user id and the link's data ((None, {}) when not linked)."""
    link = get_link(session, PLUGIN, USER, account_id)
    return (int(link.external_id), dict(link.data or {})) if link is not None else (None, {})


def user_link(account_id: int, platform_user_id: int) -> LinkWrite:
    """The account's platform user, to remember (its data is kept if the link existed)."""
    return LinkWrite(PLUGIN, USER, account_id, platform_user_id)


def link_user(session: Session, account_id: int, platform_user_id: int) -> None:
    user_link(account_id, platform_user_id)(session)


def update_user_data(session: Session, account_id: int, **values: Any) -> None:
    """Merge `values` into the user link's data (None removes a key)."""
    link = get_link(session, PLUGIN, USER, account_id)
    if link is None:
        return
    data = {**(link.data or {}), **values}
    link.data = {k: v for k, v in data.items() if v is not None}


def unlink_user(session: Session, account_id: int) -> None:
    """Forget the account's platform user and its subscriptions (it left 24h TV)."""
    delete_link(session, PLUGIN, USER, account_id)
    for subscription_id in session.scalars(
            select(Subscription.id).where(Subscription.account_id == account_id)):
        delete_link(session, PLUGIN, SUBSCRIPTION, subscription_id)


def account_of_user(session: Session, platform_user_id: int) -> int | None:
    link = find_link(session, PLUGIN, USER, str(platform_user_id))
    return link.local_id if link is not None else None


def subscription_link(session: Session, subscription_id: int) -> ExternalLink | None:
    return get_link(session, PLUGIN, SUBSCRIPTION, subscription_id)


def packet_link(subscription_id: int, platform_id: str, packet: int,
                winding_down: bool = False) -> LinkWrite:
    """Our subscription's platform subscription (of `packet`), to remember."""
    data: dict[str, Any] = {"packet_id": packet}
    if winding_down:
        data["winding_down"] = True
    return LinkWrite(PLUGIN, SUBSCRIPTION, subscription_id, platform_id, data)


def link_subscription(session: Session, subscription_id: int, platform_id: str,
                      packet: int, winding_down: bool = False) -> None:
    packet_link(subscription_id, platform_id, packet, winding_down)(session)


def unlink_subscription(session: Session, subscription_id: int) -> None:
    delete_link(session, PLUGIN, SUBSCRIPTION, subscription_id)


def subscription_of(session: Session, platform_subscription_id: str) -> int | None:
    """Our subscription behind a platform subscription id."""
    link = find_link(session, PLUGIN, SUBSCRIPTION, str(platform_subscription_id))
    return link.local_id if link is not None else None


def winding_down(links: dict[int, Link], packet: int) -> Link | None:
    """Among an account's subscription `links`, the one of `packet` left to run out its
    paid period on the platform (a downgrade), if any."""
    for link in links.values():
        data = link.data or {}
        if data.get("winding_down") and data.get("packet_id") == packet:
            return link
    return None


def subscription_links(session: Session, account_ids: list[int]) -> dict[int, Link]:
    """The subscription links of these accounts, by our subscription id."""
    return {subscription_id: found for links in links_by_account(session, account_ids).values()
            for subscription_id, found in links.items()}


def links_by_account(session: Session, account_ids: Iterable[int]
                     ) -> dict[int, dict[int, Link]]:
    """The subscription links of these accounts: account id → our subscription id → link."""
    account_ids = list(account_ids)
    if not account_ids:
        return {}
    connection = session.connection()
    found: dict[int, dict[int, Link]] = {}
    for account_id, local_id, external_id, data in connection.execute(
            _reads(connection.dialect.name).links, {"accounts": account_ids}):
        found.setdefault(account_id, {})[local_id] = Link(local_id, external_id, data or {})
    return found


def user_links(session: Session, account_ids: list[int] | None = None) -> dict[int, ExternalLink]:
    """User links by account id (of these accounts, or all)."""
    query = select(ExternalLink).where(ExternalLink.plugin == PLUGIN, ExternalLink.kind == USER)
    if account_ids is not None:
        query = query.where(ExternalLink.local_id.in_(account_ids))
    return {link.local_id: link for link in session.scalars(query)}
