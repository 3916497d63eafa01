"""What the plugin remembers of the SMS, kept in core.links (never in account fields,
whose changes would emit events and echo back to the plugin):

- kind "customer": contract id → SMS customer number (`cust_number`); the contract id is
  the customer's external id in the SMS (`cust_external_id`);
- kind "account": billing account id → SMS TV account id (`account_id`); data may hold
  "delete_pending" and "agent_id": the account went to the trash (or to another agent)
  while its services were still running out, the reconciliation deletes the SMS account,
  through that agent, once they have ended;
- kind "subscription": our subscription id → SMS `subscription_id`; data holds
  "package_id", "cust_order_id" and the SMS "account_id";
- kind "invoicing": a contract whose TV invoicing is suspended (the link's presence is the
  flag; external id "suspended"), read by the billing events' invoicing from its next run.

Every function runs inside the caller's (short) transaction.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import ExternalLink, Subscription, delete_link, find_link, get_link, set_link

PLUGIN = "jambox"
CUSTOMER = "customer"
ACCOUNT = "account"
SUBSCRIPTION = "subscription"
INVOICING = "invoicing"


# --- customers (contracts) -----------------------------------------------------------------

def customer_number(session: Session, contract_id: int) -> int | None:
    link = get_link(session, PLUGIN, CUSTOMER, contract_id)
    return int(link.external_id) if link is not None else None


def link_customer(session: Session, contract_id: int, cust_number: int) -> None:
    set_link(session, PLUGIN, CUSTOMER, contract_id, cust_number)


def unlink_customer(session: Session, contract_id: int) -> None:
    delete_link(session, PLUGIN, CUSTOMER, contract_id)


def contract_of_customer(session: Session, cust_number: int) -> int | None:
    """The contract linked to an SMS customer number (billing events carry it)."""
    link = find_link(session, PLUGIN, CUSTOMER, str(cust_number))
    return link.local_id if link is not None else None


def customer_links(session: Session) -> dict[int, int]:
    """contract id → SMS customer number, for every linked contract."""
    return {link.local_id: int(link.external_id) for link in session.scalars(
        select(ExternalLink).where(ExternalLink.plugin == PLUGIN, ExternalLink.kind == CUSTOMER))}


# --- the "suspend TV invoicing" flag -------------------------------------------------------

def invoicing_suspended(session: Session, contract_id: int) -> bool:
    return get_link(session, PLUGIN, INVOICING, contract_id) is not None


def suspended_contracts(session: Session) -> set[int]:
    return set(session.scalars(select(ExternalLink.local_id).where(
        ExternalLink.plugin == PLUGIN, ExternalLink.kind == INVOICING)))


def set_invoicing_suspended(session: Session, contract_id: int, suspended: bool) -> None:
    if suspended:
        set_link(session, PLUGIN, INVOICING, contract_id, "suspended")
    else:
        delete_link(session, PLUGIN, INVOICING, contract_id)


# --- TV accounts ---------------------------------------------------------------------------

def tv_account(session: Session, account_id: int) -> tuple[int | None, dict[str, Any]]:
    """The billing account's SMS account id and the link's data ((None, {}) if unlinked)."""
    link = get_link(session, PLUGIN, ACCOUNT, account_id)
    return (int(link.external_id), dict(link.data or {})) if link is not None else (None, {})


def link_account(session: Session, account_id: int, tv_account_id: int,
                 data: dict[str, Any] | None = None) -> None:
    set_link(session, PLUGIN, ACCOUNT, account_id, tv_account_id, data)


def unlink_account(session: Session, account_id: int) -> None:
    """Forget the SMS account and the links of its subscriptions."""
    delete_link(session, PLUGIN, ACCOUNT, account_id)
    for subscription_id in session.scalars(
            select(Subscription.id).where(Subscription.account_id == account_id)):
        delete_link(session, PLUGIN, SUBSCRIPTION, subscription_id)


def account_of_tv_account(session: Session, tv_account_id: int) -> int | None:
    link = find_link(session, PLUGIN, ACCOUNT, str(tv_account_id))
    return link.local_id if link is not None else None


def account_links(session: Session, account_ids: list[int] | None = None
                  ) -> dict[int, ExternalLink]:
    query = select(ExternalLink).where(ExternalLink.plugin == PLUGIN, ExternalLink.kind == ACCOUNT)
    if account_ids is not None:
        query = query.where(ExternalLink.local_id.in_(account_ids))
    return {link.local_id: link for link in session.scalars(query)}


# --- subscriptions -------------------------------------------------------------------------

def subscription_link(session: Session, subscription_id: int) -> ExternalLink | None:
    return get_link(session, PLUGIN, SUBSCRIPTION, subscription_id)


def link_subscription(session: Session, subscription_id: int, sms_subscription: dict[str, Any],
                      tv_account_id: int) -> None:
    set_link(session, PLUGIN, SUBSCRIPTION, subscription_id, sms_subscription["subscription_id"],
             {"package_id": int(sms_subscription["package_id"]),
              "cust_order_id": int(sms_subscription["cust_order_id"]),
              "account_id": tv_account_id})


def unlink_subscription(session: Session, subscription_id: int) -> None:
    delete_link(session, PLUGIN, SUBSCRIPTION, subscription_id)


def subscription_links(session: Session, account_ids: list[int]) -> dict[int, ExternalLink]:
    """The subscription links of these accounts, by our subscription id."""
    if not account_ids:
        return {}
    ids = select(Subscription.id).where(Subscription.account_id.in_(account_ids))
    return {link.local_id: link for link in session.scalars(select(ExternalLink).where(
        ExternalLink.plugin == PLUGIN, ExternalLink.kind == SUBSCRIPTION,
        ExternalLink.local_id.in_(ids)))}


def claimed_subscriptions(session: Session, sms_ids: list[int]) -> dict[int, int]:
    """SMS subscription id → our subscription id, for those of `sms_ids` already linked."""
    if not sms_ids:
        return {}
    return {int(link.external_id): link.local_id for link in session.scalars(
        select(ExternalLink).where(ExternalLink.plugin == PLUGIN,
                                   ExternalLink.kind == SUBSCRIPTION,
                                   ExternalLink.external_id.in_([str(i) for i in sms_ids])))}
