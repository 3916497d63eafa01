"""Reconciliation: the platform compared with the billing, the drift reported and, on
request, repaired.

The billing is the reference. For each account on a 24h TV agent it expects a platform
user (active unless the account is in the trash, with the account's device limit) and,
for each of its live packet subscriptions, a current or planned platform subscription of
that packet, paused exactly when the account is blocked or trashed. Anything else on
the platform is drift:

====================  ==========================================  ==========================
kind                  meaning                                     fix
====================  ==========================================  ==========================
missing_user          no platform user for the account            create it (or link it)
unlinked_user         the user exists but was not linked          link it
provider_uid          the user's provider_uid is not the account  PATCH provider_uid
user_active           is_active differs from the trash state      PATCH is_active
device_limit          the device limit differs                    PATCH device_limit
missing_subscription  a live packet is not on the platform        create it (paused if due)
paused                paused / not paused against the account     pause / unpause it
extra_subscription    a platform subscription the billing lacks   end it
unknown_user          a platform user no account claims           none (reported only)
====================  ==========================================  ==========================

A subscription ended by a downgrade but left to run out its paid period on the platform
("winding down") is expected, not extra. The platform is read page by page
(`GET /v2/users?subscriptions=all`: the document allows one kind per request, so the
ended ones are dropped here), the billing in a few queries, and no transaction is held
while the platform is called.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core import (Account, Agent, Block, Contract, ExternalLink, Operator, ReconcileReport,
                  Rejected, Subscriber, Subscription, Tariff, effective_state, is_open, now)
from plugin_tv24 import store
from plugin_tv24.agent import CODE, AgentSettings, packet_id
from plugin_tv24.client import Tv24Error, Tv24Rejected
from plugin_tv24.operations import ALL, AccountFacts, AccountOnPlatform, instant, live


#: drift that is reported but is not the billing's to fix (nor a reason to fail)
REPORTED_ONLY = frozenset({"unknown_user"})


def unfixed(report: ReconcileReport) -> list[dict[str, Any]]:
    """The drift left that the billing should have repaired (users no account claims are
    the provider account's business, reported only)."""
    return [item for item in report.drift
            if not item["fixed"] and item["kind"] not in REPORTED_ONLY]


def outcome(report: ReconcileReport) -> str:
    """A scheduled run's outcome: failed when nothing could be checked because of errors
    (the platform unreadable), partial when errors or unfixed drift remain, else ok."""
    if report.errors and not report.checked:
        return "failed"
    return "partial" if report.errors or unfixed(report) else "ok"


def counts(report: ReconcileReport) -> str:
    """What was checked, found and fixed, and how many errors."""
    fixed = sum(1 for item in report.drift if item["fixed"])
    strangers = sum(1 for item in report.drift if item["kind"] in REPORTED_ONLY)
    return (f"{report.checked} account(s) checked, {len(report.drift) - strangers} drift, "
            f"{fixed} fixed, {strangers} platform user(s) of no account, "
            f"{len(report.errors)} error(s)")


def summary(report: ReconcileReport) -> str:
    """One line for a person: the counts and the first error, if any."""
    return f"{counts(report)}: {report.errors[0]}" if report.errors else counts(report)


@dataclass
class Expected:
    """An account as the billing has it, with what the plugin linked."""

    facts: AccountFacts
    zone: ZoneInfo
    user_id: int | None
    user_data: dict[str, Any]
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    #: platform subscription id -> (our subscription id, link data)
    links: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)

    def wanted(self, today: date) -> list[dict[str, Any]]:
        """The live, active packet subscriptions whose period is not over."""
        return [s for s in self.subscriptions
                if s["state"] == "active" and (s["end_on"] is None or s["end_on"] >= today)]


def _billing(session, account_id: int | None, agent_id: int | None
             ) -> tuple[dict[int, AgentSettings], list[Expected]]:
    """The 24h TV accounts (one, those of one agent, or all) with their agents' settings,
    in a few queries."""
    query = (select(Account, Agent, Subscriber.name, Tariff.device_limit, Operator.timezone)
             .join(Agent, Agent.id == Account.agent_id)
             .join(Contract, Contract.id == Account.contract_id)
             .join(Subscriber, Subscriber.id == Contract.subscriber_id)
             .join(Operator, Operator.id == Contract.operator_id)
             .join(Tariff, Tariff.id == Account.tariff_id)
             .where(Agent.type == CODE).order_by(Account.id))
    scope = select(Account.id).join(Agent, Agent.id == Account.agent_id).where(Agent.type == CODE)
    for column, value in ((Account.id, account_id), (Agent.id, agent_id)):
        if value is not None:
            query, scope = query.where(column == value), scope.where(column == value)
    rows = session.execute(query).all()
    states = _states(session, scope)
    user_links = {link.local_id: link for link in session.scalars(
        select(ExternalLink).where(ExternalLink.plugin == store.PLUGIN,
                                   ExternalLink.kind == store.USER,
                                   ExternalLink.local_id.in_(scope)))}
    agents: dict[int, AgentSettings] = {}
    expected: dict[int, Expected] = {}
    for account, agent, name, limit, zone in rows:
        if agent.id not in agents:
            agents[agent.id] = AgentSettings.of(agent.id, agent.settings)
        link = user_links.get(account.id)
        facts = AccountFacts(id=account.id, agent_id=agent.id, contract_id=account.contract_id,
                             login=account.login, fields=dict(account.fields or {}),
                             subscriber_name=name, tariff_device_limit=limit,
                             state=states.get(account.id, "active"), trashed=account.trashed)
        expected[account.id] = Expected(facts, ZoneInfo(zone or "UTC"),
                                        int(link.external_id) if link else None,
                                        dict(link.data or {}) if link else {})
    for subscription in session.scalars(
            select(Subscription).where(Subscription.account_id.in_(scope),
                                       Subscription.state != "ended")
            .order_by(Subscription.id)):
        if packet_id(subscription.service.external_code) is not None:
            expected[subscription.account_id].subscriptions.append({
                "id": subscription.id, "external_code": subscription.service.external_code,
                "service_name": subscription.service.name, "state": subscription.state,
                "is_base": subscription.is_base, "start_on": subscription.start_on,
                "end_on": subscription.end_on})
    for link, owner in session.execute(
            select(ExternalLink, Subscription.account_id)
            .join(Subscription, Subscription.id == ExternalLink.local_id)
            .where(ExternalLink.plugin == store.PLUGIN, ExternalLink.kind == store.SUBSCRIPTION,
                   Subscription.account_id.in_(scope))):
        expected[owner].links[link.external_id] = (link.local_id, dict(link.data or {}))
    return agents, list(expected.values())


def _states(session, scope) -> dict[int, str]:
    """Effective states of the blocked accounts in `scope` (the others are active)."""
    found: dict[int, set[str]] = defaultdict(set)
    for account_id, source in session.execute(
            select(Block.account_id, Block.source).where(Block.account_id.in_(scope),
                                                         is_open(now()))):
        found[account_id].add(source)
    return {account_id: effective_state(sources) for account_id, sources in found.items()}


def _platform_users(account: AccountOnPlatform, expected: Expected | None
                    ) -> list[dict[str, Any]]:
    """Users with their current and planned subscriptions attached: the one of an
    account (by link, else by provider_uid), or every user of the agent."""
    client = account.client
    if expected is None:
        return _with_live(client.iter_users(subscriptions=ALL))
    user = None
    if expected.user_id is not None:
        try:
            user = client.get_user(expected.user_id)
        except Tv24Rejected as exc:
            if exc.status != 404:
                raise
    if user is None:
        return (_with_live(client.iter_users(provider_uid=str(expected.facts.id),
                                             subscriptions=ALL))
                or _with_live(client.iter_users(phone=expected.facts.identity.phone,
                                                subscriptions=ALL)))
    user["subscriptions"] = live(client.subscriptions(user["id"]))
    return [user]


def _with_live(users: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The users, each with only its current and planned subscriptions attached."""
    return [{**user, "subscriptions": live(user.get("subscriptions"))} for user in users]


class _Run:
    """One reconciliation: the report, and the fixes applied when asked."""

    def __init__(self, ctx, fix: bool):
        self.ctx = ctx
        self.fix = fix
        self.report = ReconcileReport(plugin=ctx.name)

    def drift(self, account_id: int | None, kind: str, detail: str,
              repair: Callable[[], Any] | None = None) -> bool:
        fixed = False
        if self.fix and repair is not None:
            try:
                repair()
                fixed = True
            except (Tv24Error, Rejected) as exc:
                self.report.errors.append(f"account {account_id}: {kind}: {exc}")
        self.report.add(account_id, kind, detail, fixed)
        return fixed

    def account(self, settings: AgentSettings, expected: Expected,
                user: dict[str, Any] | None) -> None:
        facts = expected.facts
        self.report.checked += 1
        account = AccountOnPlatform(self.ctx, facts, settings, expected.zone, expected.user_id,
                                    expected.user_data)
        platform_subs: list[dict[str, Any]] = []
        if user is None:
            account.user_id = None
            person = facts.identity
            if not self.drift(facts.id, "missing_user",
                              f"no platform user {person.username} (phone {person.phone})",
                              account.ensure_user):
                for wanted in expected.wanted(now().astimezone(expected.zone).date()):
                    self.report.add(facts.id, "missing_subscription",
                                    f"{wanted['service_name']} (packet {wanted['external_code']})")
                return
        else:
            if expected.user_id != user["id"]:
                account.user_id = user["id"]
                self.drift(facts.id, "unlinked_user", f"platform user {user['id']} is not linked",
                           lambda: self._link_user(facts.id, user["id"]))
            self._user_fields(account, user)
            platform_subs = user.get("subscriptions") or []
        self._subscriptions(account, expected, platform_subs)

    def _link_user(self, account_id: int, user_id: int) -> None:
        with self.ctx.session() as session:
            store.link_user(session, account_id, user_id)

    def _user_fields(self, account: AccountOnPlatform, user: dict[str, Any]) -> None:
        facts = account.facts
        if user.get("provider_uid") != str(facts.id):
            self.drift(facts.id, "provider_uid",
                       f"platform provider_uid {user.get('provider_uid') or '(empty)'!r}, "
                       f"expected {facts.id}",
                       lambda: account.update_user(provider_uid=str(facts.id)))
        active = not facts.trashed
        if user.get("is_active") != active:
            self.drift(facts.id, "user_active",
                       f"platform user is_active={user.get('is_active')}, expected {active}",
                       lambda: account.update_user(is_active=active))
        limit = facts.device_limit
        if limit is not None and user.get("device_limit") != limit:
            self.drift(facts.id, "device_limit",
                       f"platform device limit {user.get('device_limit')}, expected {limit}",
                       lambda: account.update_user(device_limit=limit))

    def _subscriptions(self, account: AccountOnPlatform, expected: Expected,
                       platform_subs: list[dict[str, Any]]) -> None:
        facts = account.facts
        at = now()
        by_id = {s["id"]: s for s in platform_subs}
        matched: set[str] = set()
        linked_ids = {local: platform for platform, (local, _) in expected.links.items()}
        for wanted in expected.wanted(at.astimezone(expected.zone).date()):
            packet = packet_id(wanted["external_code"])
            found = by_id.get(linked_ids.get(wanted["id"], ""))
            if found is None or found["packet"]["id"] != packet:
                found = next((s for s in platform_subs if s["id"] not in matched
                              and s["packet"]["id"] == packet
                              and s["id"] not in expected.links), None)
            label = f"{wanted['service_name']} (packet {packet})"
            if found is None:
                self.drift(facts.id, "missing_subscription", label,
                           lambda wanted=wanted: account.subscribe(wanted))
                continue
            matched.add(found["id"])
            if linked_ids.get(wanted["id"]) != found["id"] and self.fix:
                with self.ctx.session() as session:
                    store.link_subscription(session, wanted["id"], found["id"], packet)
            if instant(found["start_at"]) <= at and bool(found.get("is_paused")) != facts.paused:
                state = "paused" if found.get("is_paused") else "not paused"
                self.drift(facts.id, "paused",
                           f"{label} is {state} on the platform while the account is "
                           f"{'in the trash' if facts.trashed else facts.state}",
                           lambda found=found: account.set_paused(found, facts.paused))
        for extra in platform_subs:
            if extra["id"] in matched:
                continue
            local, data = expected.links.get(extra["id"], (None, {}))
            if data.get("winding_down"):
                continue
            self.drift(facts.id, "extra_subscription",
                       f"platform subscription {extra['id']} of packet {extra['packet']['id']} "
                       f"({extra['packet'].get('name', '')}) has no live billing subscription",
                       lambda extra=extra, local=local: account.end(local, extra["id"]))
        if self.fix:
            self._forget_finished(expected, set(by_id))

    def _forget_finished(self, expected: Expected, on_platform: set[str]) -> None:
        """Drop the links of wound-down subscriptions the platform has ended."""
        gone = [local for platform, (local, data) in expected.links.items()
                if data.get("winding_down") and platform not in on_platform]
        if gone:
            with self.ctx.session() as session:
                for local in gone:
                    store.unlink_subscription(session, local)


def _matcher(users: list[dict[str, Any]], members: list[Expected]
             ) -> Callable[[Expected, set[int]], dict[str, Any] | None]:
    """Finds an account's platform user: the linked one, else the one whose provider_uid
    is the account, else the one with the account's phone (registered in the app, or
    created by an attempt whose answer was lost) unless it belongs to another account.
    Finding it by phone here spares a POST the platform would refuse as a duplicate."""
    by_id = {u["id"]: u for u in users}
    by_uid = {str(u.get("provider_uid")): u for u in users if u.get("provider_uid")}
    by_phone = {u.get("phone"): u for u in users}
    ours = {str(e.facts.id) for e in members}
    linked = {e.user_id: e.facts.id for e in members if e.user_id is not None}

    def find(expected: Expected, claimed: set[int]) -> dict[str, Any] | None:
        mine = str(expected.facts.id)
        user = by_id.get(expected.user_id) or by_uid.get(mine)
        if user is None:
            user = by_phone.get(expected.facts.identity.phone)
            if user is not None and (
                    user["id"] in claimed or linked.get(user["id"], expected.facts.id) != expected.facts.id
                    or (user.get("provider_uid") in ours and user.get("provider_uid") != mine)):
                user = None
        return user

    return find


def reconcile(ctx, account_id: int | None = None, fix: bool = False,
              agent_id: int | None = None) -> ReconcileReport | None:
    """Compare one account (or those of one agent, or all) with the platform; None when
    `account_id` is not a 24h TV account (another plugin's business).

    It writes at once even when a delivery runs it (an account moved to another agent):
    it reads back the links it writes, which `ctx.write` would leave to the outbox."""
    ctx = replace(ctx, deferred=None)
    with ctx.session() as session:
        agents, accounts = _billing(session, account_id, agent_id)
    if account_id is not None and not accounts:
        return None
    run = _Run(ctx, fix)
    by_agent: dict[int, list[Expected]] = defaultdict(list)
    for expected in accounts:
        by_agent[expected.facts.agent_id].append(expected)
    for agent_id, settings in agents.items():
        members = by_agent[agent_id]
        probe = AccountOnPlatform(ctx, members[0].facts, settings, members[0].zone, None, {})
        try:
            users = _platform_users(probe, members[0] if account_id is not None else None)
        except Tv24Error as exc:
            run.report.errors.append(f"agent {agent_id}: cannot read the platform: {exc}")
            continue
        claimed: set[int] = set()
        find = _matcher(users, members)
        for expected in members:
            user = find(expected, claimed)
            if user is not None:
                claimed.add(user["id"])
            try:
                run.account(settings, expected, user)
            except Tv24Error as exc:
                run.report.errors.append(f"account {expected.facts.id}: {exc}")
        if account_id is None:
            for user in users:
                if user["id"] not in claimed:
                    run.report.add(None, "unknown_user",
                                   f"platform user {user['id']} ({user.get('username')}, "
                                   f"provider_uid {user.get('provider_uid') or '-'}) belongs to "
                                   f"no 24h TV account")
    return run.report
