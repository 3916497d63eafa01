"""The account card's 24h TV panel: the platform user and each packet subscription as
the billing and the platform see it, side by side.

The platform is asked with the short `panel_timeout`; when it cannot answer, the panel
still shows the billing's side and says why the other is missing.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from core import Panel, Subscription, account_state, now
from plugin_tv24 import store
from plugin_tv24.agent import CODE, AgentSettings, device_limit, identity, packet_id
from plugin_tv24.client import Tv24Error, Tv24Rejected
from plugin_tv24.connections import client_for
from plugin_tv24.operations import instant

HEADER = ["Subscription", "Service", "Packet", "Billing", "Platform id", "Platform", "Until"]


def platform_state(subscription: dict[str, Any], at: datetime) -> str:
    if instant(subscription["start_at"]) > at:
        return "planned"
    if instant(subscription["end_at"]) <= at:
        return "ended"
    return "paused" if subscription.get("is_paused") else "active"


def _platform(settings: AgentSettings, config: dict, user_id: int | None
              ) -> tuple[dict | None, list[dict], str | None]:
    """(user, subscriptions, problem) as the platform has them."""
    if user_id is None:
        return None, [], None
    client = client_for(settings, (float(config["connect_timeout"]),
                                   float(config["panel_timeout"])))
    try:
        return client.get_user(user_id), client.subscriptions(user_id), None
    except Tv24Rejected as exc:
        return None, [], f"user {user_id} not found ({exc.reason})" if exc.status == 404 else str(exc)
    except Tv24Error as exc:
        return None, [], f"unreachable: {exc}"


def account_panel(session, account, config: dict) -> Panel | None:
    if account.agent.type != CODE:
        return None
    settings = AgentSettings.of(account.agent_id, account.agent.settings)
    person = identity(account.login, account.fields or {})
    expected_limit = device_limit(account.fields or {}, account.tariff.device_limit)
    user_id = store.user_id(session, account.id)
    links = store.subscription_links(session, [account.id])
    user, platform_subs, problem = _platform(settings, config, user_id)
    state = "in the trash" if account.trashed else account_state(session, account.id)
    rows: list[tuple[str, Any]] = [
        ("Platform user id", user_id if user_id is not None else "not created yet"),
        ("Username", person.username), ("Phone", person.phone),
        ("Account state", state),
        ("Device limit (billing)", expected_limit if expected_limit is not None
         else "platform default"),
    ]
    if user is not None:
        rows += [("Device limit (platform)", user.get("device_limit")),
                 ("Platform user active", "yes" if user.get("is_active") else "no")]
    if problem:
        rows.append(("Platform", problem))
    at = now()
    by_id = {s["id"]: s for s in platform_subs}
    shown: set[str] = set()
    table: list[list[Any]] = []
    for subscription in session.scalars(select(Subscription).where(
            Subscription.account_id == account.id).order_by(Subscription.id)):
        packet = packet_id(subscription.service.external_code)
        link = links.get(subscription.id)
        if packet is None or (subscription.state == "ended" and link is None):
            continue
        remote = by_id.get(link.external_id) if link is not None else None
        if remote is not None:
            shown.add(remote["id"])
        table.append([subscription.id, subscription.service.name, packet, subscription.state,
                      link.external_id if link is not None else "—",
                      _remote_state(remote, link, subscription.state, problem, at),
                      remote["end_at"] if remote is not None else "—"])
    for remote in platform_subs:
        if remote["id"] not in shown and platform_state(remote, at) != "ended":
            table.append(["—", remote["packet"].get("name", ""), remote["packet"]["id"],
                          "none", remote["id"], platform_state(remote, at), remote["end_at"]])
    return Panel(title="24h TV", rows=rows, tables=[("Subscriptions", HEADER, table)])


def _remote_state(remote, link, billing_state: str, problem: str | None, at: datetime) -> str:
    """The platform side of one billing subscription, as the panel words it."""
    if remote is not None:
        state = platform_state(remote, at)
        return f"{state}, running out" if (link.data or {}).get("winding_down") else state
    if problem:
        return "unknown"
    return "missing" if billing_state == "active" else "—"
