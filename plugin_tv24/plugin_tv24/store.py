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
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from core import (Agent, Contract, ExternalLink, Operator, Subscription, delete_link, find_link,
                  get_link, set_link)

PLUGIN = "tv24"
USER = "user"
SUBSCRIPTION = "subscription"


@functools.cache
def account_statement():
    """What every delivery reads first, as one statement (built once): the agent's type and
    settings, the operator's time zone, the account's user link. Parameters: agent,
    contract, account. No row when the agent is gone."""
    link = ExternalLink.__table__
    zone = (select(Operator.timezone).join(Contract, Contract.operator_id == Operator.id)
            .where(Contract.id == bindparam("contract")).scalar_subquery())
    return (select(Agent.type, Agent.settings, zone.label("timezone"),
                   link.c.external_id.label("user_id"), link.c.data.label("user_data"))
            .select_from(Agent.__table__.outerjoin(link, and_(
                link.c.plugin == PLUGIN, link.c.kind == USER,
                link.c.local_id == bindparam("account"))))
            .where(Agent.id == bindparam("agent")))


def user_id(session: Session, account_id: int) -> int | None:
    return user(session, account_id)[0]


def user(session: Session, account_id: int) -> tuple[int | None, dict[str, Any]]:
    """The account's platform user id and the link's data ((None, {}) when not linked)."""
    link = get_link(session, PLUGIN, USER, account_id)
    return (int(link.external_id), dict(link.data or {})) if link is not None else (None, {})


def link_user(session: Session, account_id: int, platform_user_id: int) -> None:
    """Remember the account's platform user (its data is kept if the link existed)."""
    set_link(session, PLUGIN, USER, account_id, platform_user_id)


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


def link_subscription(session: Session, subscription_id: int, platform_id: str,
                      packet: int, winding_down: bool = False) -> None:
    data: dict[str, Any] = {"packet_id": packet}
    if winding_down:
        data["winding_down"] = True
    set_link(session, PLUGIN, SUBSCRIPTION, subscription_id, platform_id, data)


def unlink_subscription(session: Session, subscription_id: int) -> None:
    delete_link(session, PLUGIN, SUBSCRIPTION, subscription_id)


def subscription_of(session: Session, platform_subscription_id: str) -> int | None:
    """Our subscription behind a platform subscription id."""
    link = find_link(session, PLUGIN, SUBSCRIPTION, str(platform_subscription_id))
    return link.local_id if link is not None else None


def winding_down(links: dict[int, ExternalLink], packet: int) -> ExternalLink | None:
    """Among an account's subscription `links`, the one of `packet` left to run out its
    paid period on the platform (a downgrade), if any."""
    for link in links.values():
        data = link.data or {}
        if data.get("winding_down") and data.get("packet_id") == packet:
            return link
    return None


def subscription_links(session: Session, account_ids: list[int]) -> dict[int, ExternalLink]:
    """The subscription links of these accounts, by our subscription id."""
    if not account_ids:
        return {}
    ids = select(Subscription.id).where(Subscription.account_id.in_(account_ids))
    return {link.local_id: link for link in session.scalars(select(ExternalLink).where(
        ExternalLink.plugin == PLUGIN, ExternalLink.kind == SUBSCRIPTION,
        ExternalLink.local_id.in_(ids)))}


def user_links(session: Session, account_ids: list[int] | None = None) -> dict[int, ExternalLink]:
    """User links by account id (of these accounts, or all)."""
    query = select(ExternalLink).where(ExternalLink.plugin == PLUGIN, ExternalLink.kind == USER)
    if account_ids is not None:
        query = query.where(ExternalLink.local_id.in_(account_ids))
    return {link.local_id: link for link in session.scalars(query)}
