"""What the billing does in the SMS for one account, shared by the event deliveries, the
reconciliation, the account card and the command line.

Every operation is safe to repeat, because a delivery may run twice and a call may have
been applied with its answer lost (a timeout, a dropped connection). The SMS gives no
request ids, so each operation looks before it acts, and looks again after a refusal:

- a customer is found by its external id (our contract id) before one is added;
- a TV account is found among the customer's accounts (an unclaimed one at the same
  installation address) before one is added;
- a package is found among the account's services (an unclaimed live one of the package)
  before it is entitled, and the new service is found the same way afterwards;
- a lock is set or lifted only when the SMS's state differs; a refused termination or
  delete is done when the SMS shows it done.

No database transaction is held while the SMS is called: facts are read in one short
transaction, links written in another.
"""
from __future__ import annotations

import calendar
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core import (Account, Agent, Block, Contract, Operator, Rejected, Subscriber, Subscription,
                  ValidationError, is_open, now, today)
from plugin_jambox import store
from plugin_jambox.agent import CODE, AgentSettings, installation_address, package_id
from plugin_jambox.client import JamboxClient, JamboxFault
from plugin_jambox.connections import client_for

ACTIVE = "active"


def month_end(day: date) -> date:
    """The end of the billing period `day` is in: SGT ends services only then."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def split_name(name: str) -> tuple[str, str]:
    """(cust_name, cust_surname): the first word and the rest (a one-word name, such as a
    company's, is both: the SMS wants both)."""
    first, _, rest = name.strip().partition(" ")
    return first[:100], (rest.strip() or first)[:100]


def random_pin() -> str:
    return f"{secrets.randbelow(10_000):04d}"


@dataclass(frozen=True)
class CustomerFacts:
    """What the SMS customer is made of: the contract and its subscriber's card."""

    contract_id: int
    name: str
    kind: str
    phones: tuple[str, ...]
    email: str
    tax_id: str

    def data(self, address: dict[str, str]) -> dict[str, str]:
        """`cust_data` for custAdd / custEdit (no PINs: they are the SMS's)."""
        first, last = split_name(self.name)
        pesel = self.tax_id if self.kind == "person" and len(self.tax_id) == 11 else ""
        main = {f"cust_m_{key[7:]}": value for key, value in address.items()}
        return {"cust_name": first, "cust_surname": last, "cust_pesel": pesel,
                "cust_external_id": str(self.contract_id), "cust_email": self.email,
                "cust_phone1": self.phones[0] if self.phones else "",
                "cust_phone2": self.phones[1] if len(self.phones) > 1 else "", **main}


@dataclass
class AccountFacts:
    """One billing account on a JAMBOX agent, its customer and what the plugin has linked."""

    id: int
    agent_id: int
    contract_id: int
    fields: dict[str, Any]
    trashed: bool
    customer: CustomerFacts
    zone: ZoneInfo
    lock_wanted: bool
    cust_number: int | None = None
    tv_account_id: int | None = None
    link_data: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> dict[str, str]:
        return installation_address(self.fields)

    @property
    def today(self) -> date:
        return today(self.zone)


def agent_settings(session, agent_id: int) -> AgentSettings:
    agent = session.get(Agent, agent_id)
    if agent is None or agent.type != CODE:
        raise Rejected(f"agent {agent_id} is not a JAMBOX agent (any more)")
    return AgentSettings.of(agent.id, agent.settings)


def customer_facts(session, contract_id: int) -> tuple[CustomerFacts, ZoneInfo]:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise ValidationError("contract_id", f"contract {contract_id} does not exist")
    subscriber: Subscriber = contract.subscriber
    zone = session.scalar(select(Operator.timezone).where(Operator.id == contract.operator_id))
    facts = CustomerFacts(contract.id, subscriber.name, subscriber.kind,
                          tuple(p.number for p in subscriber.phones), subscriber.email or "",
                          subscriber.tax_id or "")
    return facts, ZoneInfo(zone or "UTC")


def lock_wanted(session, account_id: int, settings: AgentSettings) -> bool:
    """Whether an open block of one of the agent's lock sources holds the account."""
    return session.scalar(select(Block.id).where(
        Block.account_id == account_id, Block.source.in_(settings.lock_sources),
        is_open(now())).limit(1)) is not None


def load_facts(session, account, settings: AgentSettings) -> AccountFacts:
    customer, zone = customer_facts(session, account.contract_id)
    tv_id, data = store.tv_account(session, account.id)
    return AccountFacts(id=account.id, agent_id=account.agent_id,
                        contract_id=account.contract_id, fields=dict(account.fields or {}),
                        trashed=account.trashed, customer=customer, zone=zone,
                        lock_wanted=lock_wanted(session, account.id, settings),
                        cust_number=store.customer_number(session, account.contract_id),
                        tv_account_id=tv_id, link_data=data)


class Customer:
    """One contract as an SMS customer."""

    def __init__(self, ctx, client: JamboxClient, facts: CustomerFacts,
                 cust_number: int | None):
        self.ctx, self.client, self.facts, self.cust_number = ctx, client, facts, cust_number

    def find(self) -> dict[str, Any] | None:
        """The SMS customer whose external id is the contract."""
        wanted = str(self.facts.contract_id)
        return next((c for c in self.client.cust_list("")
                     if str(c.get("cust_external_id", "")) == wanted), None)

    def ensure(self, address: dict[str, str]) -> int:
        """The customer number: linked, found by external id and linked, or added."""
        if self.cust_number is not None:
            return self.cust_number
        found = self.find()
        if found is not None:
            number = int(found["cust_number"])
        else:
            data = {**self.facts.data(address), "cust_vod_pin": random_pin(),
                    "cust_master_pin": random_pin()}
            number = self.client.cust_add(data)
        self._link(number)
        return number

    def export(self, address: dict[str, str]) -> tuple[int, str]:
        """Export to the SMS (SGT's "Eksport do SMS"): link by external id or add, then
        send the personal data; returns (customer number, what was done)."""
        if self.cust_number is None:
            found = self.find()
            if found is None:
                return self.ensure(address), "added"
            self._link(int(found["cust_number"]))
            done = "linked by external id"
        else:
            done = "updated"
        self.client.cust_edit(self.cust_number, self.facts.data(address))
        return self.cust_number, done

    def set_pins(self, vod_pin: str, master_pin: str) -> None:
        """Change the two PINs (the change sends only them, as SGT's module does)."""
        for name, pin in (("vod_pin", vod_pin), ("master_pin", master_pin)):
            if not (isinstance(pin, str) and len(pin) == 4 and pin.isdigit()):
                raise ValidationError(name, "must be 4 digits")
        if self.cust_number is None:
            raise ValidationError("contract_id", f"contract {self.facts.contract_id} is not "
                                                 f"an SMS customer yet: export it first")
        self.client.cust_edit(self.cust_number, {"cust_vod_pin": vod_pin,
                                                 "cust_master_pin": master_pin})

    def _link(self, number: int) -> None:
        with self.ctx.session() as session:
            owner = store.contract_of_customer(session, number)
            if owner not in (None, self.facts.contract_id):
                raise Rejected(f"SMS customer {number} is linked to contract {owner}")
            store.link_customer(session, self.facts.contract_id, number)
        self.cust_number = number


class TvAccount:
    """One billing account and its SMS TV account, reached through its agent's login."""

    def __init__(self, ctx, facts: AccountFacts, settings: AgentSettings,
                 client: JamboxClient | None = None):
        self.ctx, self.facts, self.settings = ctx, facts, settings
        self.client = client or client_for(settings)
        self.customer = Customer(ctx, self.client, facts.customer, facts.cust_number)

    @classmethod
    def load(cls, ctx, account_id: int, agent_id: int | None = None) -> "TvAccount":
        """Read the account, its agent's settings and its links in one short transaction."""
        with ctx.session() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise Rejected(f"account {account_id} does not exist")
            settings = agent_settings(session, agent_id or account.agent_id)
            facts = load_facts(session, account, settings)
        return cls(ctx, facts, settings)

    # --- the SMS's view -----------------------------------------------------------------

    def sms_accounts(self) -> list[dict[str, Any]]:
        if self.customer.cust_number is None:
            return []
        return self.client.cust_get_subscriptions(self.customer.cust_number)

    def sms_account(self) -> dict[str, Any] | None:
        """The linked TV account as custGetSubscriptions shows it (None: not there)."""
        if self.facts.tv_account_id is None:
            return None
        return next((a for a in self.sms_accounts()
                     if int(a["account_id"]) == self.facts.tv_account_id), None)

    # --- the TV account -----------------------------------------------------------------

    def ensure_account(self) -> int:
        """The SMS account id: linked, an unclaimed one at the same address, or added."""
        if self.facts.tv_account_id is not None:
            return self.facts.tv_account_id
        address = self.facts.address
        number = self.customer.ensure(address)
        with self.ctx.session() as session:
            claimed = {int(link.external_id) for link in store.account_links(session).values()}
        found = next((a for a in self.client.cust_get_subscriptions(number)
                      if int(a["account_id"]) not in claimed and not int(a.get("acc_closed") or 0)
                      and all(str(a.get(k, "")) == v for k, v in address.items())), None)
        tv_id = int(found["account_id"]) if found else self.client.account_add(number, address)
        with self.ctx.session() as session:
            store.link_account(session, self.facts.id, tv_id)
        self.facts.tv_account_id = tv_id
        return tv_id

    def edit_account(self) -> None:
        if self.facts.tv_account_id is not None:
            self.client.account_edit(self.facts.tv_account_id, self.facts.address)

    def set_lock(self, locked: bool | None = None) -> bool:
        """Bring the debt-collection lock to `locked` (default: what the account's blocks
        want); returns whether a call was made."""
        wanted = self.facts.lock_wanted if locked is None else locked
        current = self.sms_account()
        if current is None or (not int(current.get("acc_active", 1))) == wanted:
            return False
        call = self.client.account_lock if wanted else self.client.account_unlock
        self._settled(lambda: call(self.facts.tv_account_id),
                      lambda: (not int((self.sms_account() or {}).get("acc_active", 1))) == wanted)
        return True

    def _settled(self, act: Callable[[], Any], done: Callable[[], bool]) -> None:
        """Do `act`; a refusal is fine when `done()` shows the SMS already as wanted (an
        earlier attempt applied, its answer lost)."""
        try:
            act()
        except JamboxFault:
            if not done():
                raise

    # --- services -----------------------------------------------------------------------

    def _unclaimed(self, package: int, subscription_id: int) -> dict[str, Any] | None:
        """A running (not terminated) SMS service of `package` on the account that no
        other subscription claims."""
        account = self.sms_account() or {"subscriptions": []}
        candidates = [s for s in account["subscriptions"]
                      if int(s.get("package_id") or 0) == package
                      and not str(s.get("sub_valid_to") or "")]
        with self.ctx.session() as session:
            claimed = store.claimed_subscriptions(
                session, [int(s["subscription_id"]) for s in candidates])
        return next((s for s in candidates
                     if claimed.get(int(s["subscription_id"]), subscription_id) == subscription_id),
                    None)

    def subscribe(self, subscription: dict[str, Any]) -> int | None:
        """Give the account the package of a billing subscription (a snapshot with id,
        external_code, state, start_on): entitled when active, added inactive otherwise;
        link it. Returns the SMS subscription id, None for a service that is no package."""
        package = package_id(subscription.get("external_code"))
        if package is None:
            return None
        tv_id = self.ensure_account()
        found = self._unclaimed(package, subscription["id"])
        if found is None:
            start = max(_day(subscription.get("start_on")) or self.facts.today, self.facts.today,
                        self._free_from(package))
            give = (self.client.packages_entitle if subscription["state"] == ACTIVE
                    else self.client.packages_add)
            give(tv_id, [package], start.isoformat())
            found = self._unclaimed(package, subscription["id"])
            if found is None:
                raise Rejected(f"the SMS took package {package} for account {tv_id} but shows "
                               f"no such service")
        with self.ctx.session() as session:
            store.link_subscription(session, subscription["id"], found, tv_id)
        return int(found["subscription_id"])

    def _free_from(self, package: int) -> date:
        """The first day the account may get `package` again: the day after a terminated
        service of it ends (the SMS holds one package once at a time)."""
        ends = [date.fromisoformat(str(s["sub_valid_to"]))
                for s in (self.sms_account() or {"subscriptions": []})["subscriptions"]
                if int(s.get("package_id") or 0) == package and str(s.get("sub_valid_to") or "")]
        return max(ends, default=self.facts.today - timedelta(days=1)) + timedelta(days=1)

    def activate(self, subscription: dict[str, Any]) -> None:
        """An inactive service activated (subscriptionActivate), or given if missing."""
        with self.ctx.session() as session:
            link = store.subscription_link(session, subscription["id"])
        if link is None:
            self.subscribe({**subscription, "state": ACTIVE})
            return
        sms_id = int(link.external_id)
        current = self._service(sms_id)
        if current is not None and not int(current.get("sub_active", 1)):
            self._settled(lambda: self.client.subscription_activate(self.ensure_account(), sms_id),
                          lambda: int((self._service(sms_id) or {}).get("sub_active", 0)) == 1)

    def _service(self, sms_id: int) -> dict[str, Any] | None:
        account = self.sms_account() or {"subscriptions": []}
        return next((s for s in account["subscriptions"]
                     if int(s["subscription_id"]) == sms_id), None)

    def terminate(self, subscription_id: int | None, sms_id: int, fee: str = "",
                  reason: str = "", on: date | None = None) -> None:
        """End the SMS service at the end of the current billing period (SGT ends them
        only then), or on `on`; forget our subscription's link."""
        current = self._service(sms_id)
        if current is not None and not str(current.get("sub_valid_to") or ""):
            end = (on or month_end(self.facts.today)).isoformat()
            self._settled(
                lambda: self.client.subscription_terminate(self.facts.tv_account_id, sms_id,
                                                           end, fee, reason),
                lambda: bool(str((self._service(sms_id) or {}).get("sub_valid_to") or "")))
        if subscription_id is not None:
            with self.ctx.session() as session:
                store.unlink_subscription(session, subscription_id)

    def terminate_all(self) -> None:
        with self.ctx.session() as session:
            links = store.subscription_links(session, [self.facts.id])
        for local, link in links.items():
            self.terminate(local, int(link.external_id))

    def delete_account(self) -> bool:
        """Delete the SMS account once it has no services; until then it stays, locked,
        marked "delete_pending" for the reconciliation. Returns whether it is gone."""
        tv_id = self.facts.tv_account_id
        if tv_id is None:
            return True
        current = self.sms_account()
        if current is not None and any(not _ended(s, self.facts.today)
                                       for s in current["subscriptions"]):
            with self.ctx.session() as session:
                store.link_account(session, self.facts.id, tv_id,
                                   {"delete_pending": True, "agent_id": self.settings.agent_id})
            return False
        if current is not None:
            self._settled(lambda: self.client.account_del(tv_id),
                          lambda: self.sms_account() is None)
        with self.ctx.session() as session:
            store.unlink_account(session, self.facts.id)
        self.facts.tv_account_id = None
        return True


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _ended(service: dict[str, Any], on: date) -> bool:
    """Whether an SMS service is over by `on` (a termination date in the past)."""
    end = str(service.get("sub_valid_to") or "")
    return bool(end) and date.fromisoformat(end) < on


def billing_subscriptions(session, account_id: int) -> list[dict[str, Any]]:
    """The account's live package subscriptions as snapshots (id, external_code, state,
    start_on, end_on, service_name)."""
    return [{"id": s.id, "external_code": s.service.external_code, "state": s.state,
             "start_on": s.start_on, "end_on": s.end_on, "service_name": s.service.name}
            for s in session.scalars(select(Subscription).where(
                Subscription.account_id == account_id, Subscription.state != "ended")
                .order_by(Subscription.id))
            if package_id(s.service.external_code) is not None]
