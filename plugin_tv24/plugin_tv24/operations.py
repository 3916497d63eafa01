"""What the billing does on the platform for one account, shared by the event deliveries
and the reconciliation.

Every operation is idempotent, because a delivery may run twice (a timeout after the
platform acted, a worker killed mid-batch) and because the platform may already hold
what the billing is about to create (a packet bought in the app):

- a user is created once: a refused duplicate phone is looked up and linked instead,
  unless it belongs to another account of ours;
- a subscription is created once: a refusal is answered by looking for a current or
  planned subscription of the same packet and linking it;
- ending, pausing and unpausing are safe to repeat: the platform's "already ended" and
  "already paused" (an earlier attempt applied, its answer lost) mean done.

No database transaction is held while the platform is called: facts are read in one
short transaction (or come with the delivery, read with the outbox's claim), links are
written after the call (`ctx.write`: in a delivery, with the outbox's record of it).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from core import Rejected, now
from plugin_tv24 import store
from plugin_tv24.agent import CODE, AgentSettings, Identity, device_limit, identity, packet_id
from plugin_tv24.client import Tv24DuplicateUser, Tv24Rejected, already_done
from plugin_tv24.connections import client_for, timeouts

#: `subscriptions=` of `GET /v2/users`: the document allows ONE kind, so "current and
#: planned" is asked as "all" and filtered with `live`
ALL = "all"


@dataclass(frozen=True)
class AccountFacts:
    """What the platform needs to know about an account (from an event's snapshot or the
    database)."""

    id: int
    agent_id: int
    contract_id: int
    login: str
    fields: dict[str, Any]
    subscriber_name: str
    tariff_device_limit: int | None
    state: str
    trashed: bool

    @classmethod
    def of(cls, snapshot: dict[str, Any]) -> "AccountFacts":
        return cls(id=snapshot["id"], agent_id=snapshot["agent_id"],
                   contract_id=snapshot["contract_id"], login=snapshot["login"],
                   fields=dict(snapshot.get("fields") or {}),
                   subscriber_name=snapshot.get("subscriber_name") or "",
                   tariff_device_limit=snapshot.get("device_limit"),
                   state=snapshot.get("state", "active"), trashed=bool(snapshot.get("trashed")))

    @property
    def identity(self) -> Identity:
        return identity(self.login, self.fields)

    @property
    def device_limit(self) -> int | None:
        return device_limit(self.fields, self.tariff_device_limit)

    @property
    def paused(self) -> bool:
        """Whether its subscriptions must be paused: blocked, or in the trash."""
        return self.trashed or self.state != "active"


def day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().partition(" ")
    return first[:64], last.strip()[:64]


def live(subscriptions: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The current and planned subscriptions among `subscriptions`: those not over yet."""
    at = now()
    return [s for s in subscriptions or () if instant(s["end_at"]) > at]


def open_pause(subscription: dict[str, Any], at: datetime) -> dict[str, Any] | None:
    """The pause holding a platform subscription now, if any."""
    for pause in subscription.get("pauses") or []:
        if instant(pause["start_at"]) <= at < instant(pause["end_at"]):
            return pause
    return None


class AccountOnPlatform:
    """One account and its platform user, reached through its agent's provider account."""

    def __init__(self, ctx, facts: AccountFacts, settings: AgentSettings, zone: ZoneInfo,
                 user_id: int | None, user_data: dict[str, Any],
                 timeout: tuple[float, float] | None = None):
        self.ctx = ctx
        self.facts = facts
        self.settings = settings
        self.zone = zone
        self.user_id = user_id
        self.user_data = user_data
        self.client = client_for(settings, timeout or timeouts(ctx.config))
        #: the platform id of the subscription `load` was asked about, if linked
        self.subscription_link: store.Link | None = None
        #: the links of the account's subscriptions by our subscription id, when read with
        #: the account (`load` asked about one of them); None: read them when needed
        self.subscription_links: dict[int, store.Link] | None = None

    @classmethod
    def load(cls, ctx, facts: AccountFacts, agent_id: int | None = None,
             subscription_id: int | None = None,
             known: store.Known | None = None) -> "AccountOnPlatform":
        """The account on its agent's platform, from what the outbox read with the claim
        (`known`, see `store.known_for`) when it is of this agent (and has the
        subscription links, if asked about a subscription); else read now, in one short
        transaction, as every delivery starts here."""
        agent_id = agent_id or facts.agent_id
        if known is None or known.agent_id != agent_id or (
                subscription_id is not None and known.subscription_links is None):
            with ctx.session() as session:
                known = store.known(session, agent_id, facts.contract_id, facts.id,
                                    with_links=subscription_id is not None)
        if known is None or known.agent_type != CODE:
            raise Rejected(f"agent {agent_id} is not a 24h TV agent (any more)")
        account = cls(ctx, facts, AgentSettings.of(agent_id, known.settings),
                      ZoneInfo(known.timezone or "UTC"), known.user_id, dict(known.user_data))
        if known.subscription_links is not None:
            account.subscription_links = known.subscription_links
            account.subscription_link = known.subscription_links.get(subscription_id)
        return account

    # --- the user -----------------------------------------------------------------------

    def ensure_user(self) -> int:
        """The platform user id, creating the user (or linking an existing one) once."""
        if self.user_id is not None:
            return self.user_id
        person = self.facts.identity
        first, last = split_name(self.facts.subscriber_name)
        try:
            user = self.client.create_user(
                person.username, person.phone, first_name=first, last_name=last,
                provider_uid=str(self.facts.id), is_active=not self.facts.trashed,
                device_limit=self.facts.device_limit)
        except Tv24DuplicateUser as exc:
            user = self._adopt(person, exc)
        self.ctx.write(store.user_link(self.facts.id, user["id"]))
        self.user_id = user["id"]
        return self.user_id

    def _adopt(self, person: Identity, refusal: Tv24DuplicateUser) -> dict[str, Any]:
        """Link the platform user that already has this phone (registered in the app, or
        created by an earlier attempt whose answer was lost), after bringing its
        provider_uid, device limit and activity in line with the account."""
        mine = str(self.facts.id)
        existing = self.client.find_user(phone=person.phone) if "phone" in refusal.fields else None
        if existing is None:
            existing = self.client.find_user(username=person.username)
            if existing is None or existing.get("provider_uid") != mine:
                raise Rejected(f"username {person.username!r} is taken on the platform by user "
                               f"{existing['id'] if existing else '?'} with another phone "
                               f"({refusal.reason})")
        with self.ctx.session() as session:
            owner = store.account_of_user(session, existing["id"])
        if owner not in (None, self.facts.id):
            raise Rejected(f"phone {person.phone} belongs to platform user {existing['id']}, "
                           f"which is linked to account {owner}")
        changes: dict[str, Any] = {}
        if existing.get("provider_uid") != mine:
            changes["provider_uid"] = mine
        limit = self.facts.device_limit
        if limit is not None and existing.get("device_limit") != limit:
            changes["device_limit"] = limit
        if existing.get("is_active") != (not self.facts.trashed):
            changes["is_active"] = not self.facts.trashed
        if changes:
            self.client.patch_user(existing["id"], **changes)
        return existing

    def update_user(self, **changes: Any) -> None:
        """PATCH the user's fields (None values are left out); nothing if not linked."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if self.user_id is not None and changes:
            self.client.patch_user(self.user_id, **changes)

    def pause_all(self) -> None:
        if self.user_id is not None:
            self.client.pause_all(self.user_id)

    def unpause_all(self) -> None:
        if self.user_id is not None:
            self.client.unpause_all(self.user_id)

    def leave(self) -> None:
        """The account no longer uses this platform: stop its service, keep the user."""
        if self.user_id is not None:
            self.client.pause_all(self.user_id)
            self.client.patch_user(self.user_id, is_active=False)
        with self.ctx.session() as session:
            store.unlink_user(session, self.facts.id)

    # --- subscriptions ------------------------------------------------------------------

    def period(self, subscription: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
        """(start_at, end_at) on the platform for a billing subscription: None for "now"
        and for an open end. Days are the operator's: a subscription ending on the 31st
        ends at 23:59:59 that day in the operator's time zone."""
        today = now().astimezone(self.zone).date()
        first, last = day(subscription.get("start_on")), day(subscription.get("end_on"))
        start = None if first is None or first <= today else self._midnight(first)
        end = None if last is None else self._midnight(last + timedelta(days=1)) - timedelta(seconds=1)
        return start, end

    def _midnight(self, when: date) -> datetime:
        return datetime.combine(when, time(0), self.zone).astimezone(timezone.utc)

    def subscribe(self, subscription: dict[str, Any]) -> str | None:
        """Start the platform subscription of a billing subscription (a snapshot with id,
        external_code, start_on, end_on, is_base) and link it; paused at once when the
        account is blocked. Returns the platform id, or None when its period is over."""
        packet = packet_id(subscription.get("external_code"))
        start, end = self.period(subscription)
        at = now()
        if packet is None or (end is not None and end <= at):
            return None
        user = self.ensure_user()
        next_base = self.user_data.get("next_base_at")
        if subscription.get("is_base") and next_base and instant(next_base) > (start or at):
            start = instant(next_base)  # after the downgraded base packet runs out
        item: dict[str, Any] = {"packet_id": packet, "renew": end is None}
        resumed = self._resume(subscription["id"], packet, item["renew"])
        if resumed is not None:
            return resumed
        if start is not None:
            item["start_at"] = start
        if end is not None:
            item["end_at"] = end
        try:
            (created,) = self.client.create_subscriptions(user, [item])
        except Tv24Rejected:
            created = self._existing(user, packet, subscription["id"])
            if created is None:
                raise
        if instant(created["start_at"]) <= at and bool(created.get("is_paused")) != self.facts.paused:
            self.set_paused(created, self.facts.paused)  # a linked one may be paused already
        self.ctx.write(store.packet_link(subscription["id"], created["id"], packet))
        return created["id"]

    def _resume(self, subscription_id: int, packet: int, renew: bool) -> str | None:
        """Take back the platform subscription of `packet` that a downgrade left to run out
        (an upgrade back within the paid period): the platform refuses a second one for the
        same period, so its renewal is switched back on and our new subscription linked to
        it. None when there is none, or the platform no longer has it."""
        links = self.subscription_links
        if links is None:
            with self.ctx.session() as session:
                links = store.subscription_links(session, [self.facts.id])
        link = store.winding_down(links, packet)
        if link is None:
            return None
        old_id, platform_id = link.local_id, link.external_id
        try:
            resumed = self.client.patch_subscription(self.ensure_user(), platform_id, renew=renew)
            if instant(resumed["end_at"]) <= now():
                platform_id = None  # it ran out meanwhile: a new one will be created
        except Tv24Rejected as refusal:
            if refusal.status != 404:
                raise
            platform_id = None  # gone meanwhile: a new one will be created
        self.ctx.write(partial(store.unlink_subscription, subscription_id=old_id))
        if platform_id is not None:
            self.ctx.write(store.packet_link(subscription_id, platform_id, packet))
        return platform_id

    def _existing(self, user: int, packet: int, subscription_id: int) -> dict[str, Any] | None:
        """A current or planned platform subscription of `packet` that no other billing
        subscription claims: bought in the app, or created by an attempt whose answer was
        lost."""
        candidates = [s for s in live(self.client.subscriptions(user))
                      if s["packet"]["id"] == packet]
        with self.ctx.session() as session:
            for candidate in candidates:
                if store.subscription_of(session, candidate["id"]) in (None, subscription_id):
                    return candidate
        return None

    def end(self, subscription_id: int | None, platform_id: str) -> None:
        """End the platform subscription now (lifting its pause first: the platform will
        not end a paused one) and forget the link of our subscription, if any."""
        if self.user_id is not None:
            try:
                self.client.delete_subscription(self.user_id, platform_id)
            except Tv24Rejected as refusal:
                if already_done(refusal):
                    pass  # gone or ended already (an earlier attempt's answer was lost)
                elif self._unpause(platform_id):
                    self.client.delete_subscription(self.user_id, platform_id)
                else:
                    raise
        if subscription_id is not None:
            with self.ctx.session() as session:
                store.unlink_subscription(session, subscription_id)

    def _unpause(self, platform_id: str) -> bool:
        """Lift the pause holding a subscription; False if it was not paused."""
        at = now()
        for candidate in self.client.subscriptions(self.user_id):
            if candidate["id"] == platform_id:
                pause = open_pause(candidate, at)
                if pause is not None:
                    self.client.unpause(self.user_id, platform_id, pause["id"])
                    return True
        return False

    def wind_down(self, subscription_id: int, platform_id: str, is_base: bool) -> None:
        """Let a subscription run to the end of its paid period (a downgrade): no renewal;
        a new base packet is planned to start when it ends."""
        if self.user_id is None:
            return
        updated = self.client.patch_subscription(self.user_id, platform_id, renew=False)
        with self.ctx.session() as session:
            store.link_subscription(session, subscription_id, platform_id,
                                    updated["packet"]["id"], winding_down=True)
            if is_base:
                free_at = instant(updated["end_at"]) + timedelta(seconds=1)
                store.update_user_data(session, self.facts.id,
                                       next_base_at=free_at.strftime("%Y-%m-%dT%H:%M:%SZ"))

    def set_paused(self, subscription: dict[str, Any], paused: bool) -> None:
        """Pause or unpause one platform subscription (reconciliation)."""
        if paused:
            try:
                self.client.pause_subscription(self.user_id, subscription["id"])
            except Tv24Rejected as refusal:
                if not already_done(refusal):
                    raise
        else:
            pause = open_pause(subscription, now())
            if pause is not None:
                self.client.unpause(self.user_id, subscription["id"], pause["id"])
