"""The SMS functions an operator uses by hand (SGT's module manual, chapters 2-7), shared
by the command line, the account card and the admin: customers (export, `custidupdate`,
PINs, the SMS list with billing data beside it), services (the offer, termination with a
penalty, upgrades, gifts), set-top boxes, subnets and messages to TV screens.

Input is checked first (plugin_jambox.inputs: a `ValidationError` naming the field), so a
refused call writes nothing; the SMS's own refusal comes back as `JamboxFault` with SGT's
text. Links are written only after the SMS has answered.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core import MAX_KEY, Account, Agent, Contract, ValidationError
from plugin_jambox import inputs, store
from plugin_jambox.agent import CODE, AgentSettings, installation_address
from plugin_jambox.client import JamboxClient
from plugin_jambox.connections import client_for
from plugin_jambox.operations import Customer, TvAccount, customer_facts, month_end

SORTS = ("cust_number", "name", "contract", "balance")


def agent_settings_for(ctx, agent_id: int | None = None) -> AgentSettings:
    """The JAMBOX agent asked for, or the only one there is."""
    with ctx.session() as session:
        agents = list(session.scalars(select(Agent).where(Agent.type == CODE)
                                      .order_by(Agent.id)))
        if agent_id is not None:
            chosen = next((a for a in agents if a.id == agent_id), None)
            if chosen is None:
                raise ValidationError("agent", f"agent {agent_id} is not a JAMBOX agent")
        elif len(agents) == 1:
            chosen = agents[0]
        elif not agents:
            raise ValidationError("agent", "there is no JAMBOX agent")
        else:
            raise ValidationError("agent", f"there are {len(agents)} JAMBOX agents: say which "
                                           f"({', '.join(str(a.id) for a in agents)})")
        return AgentSettings.of(chosen.id, chosen.settings)


@dataclass
class CustomerRow:
    """One SMS customer of the list, with the billing's side beside it."""

    cust_number: int
    name: str
    external_id: str
    address: str
    contract_id: int | None
    contract_number: str
    balance: Decimal | None


def set_invoicing_suspended(ctx, contract_id: int, suspended: bool) -> None:
    """The contract's "suspend TV invoicing" switch; the billing events' invoicing reads it
    from its next run."""
    with ctx.session() as session:
        if session.get(Contract, contract_id) is None:
            raise ValidationError("contract_id", f"contract {contract_id} does not exist")
        store.set_invoicing_suspended(session, contract_id, suspended)


class Desk:
    """The SMS functions of one JAMBOX agent (its login)."""

    def __init__(self, ctx, settings: AgentSettings, cached: bool = False,
                 client: JamboxClient | None = None):
        self.ctx, self.settings = ctx, settings
        self.client = client or client_for(settings, cached=cached)

    @classmethod
    def of(cls, ctx, agent_id: int | None = None, cached: bool = False) -> "Desk":
        return cls(ctx, agent_settings_for(ctx, agent_id), cached)

    # --- customers ----------------------------------------------------------------------

    def _customer(self, contract_id: int) -> tuple[Customer, dict[str, str]]:
        with self.ctx.session() as session:
            facts, _ = customer_facts(session, contract_id)
            number = store.customer_number(session, contract_id)
            account = session.scalars(select(Account).join(Agent, Agent.id == Account.agent_id)
                                      .where(Account.contract_id == contract_id,
                                             Agent.type == CODE, Account.trashed_at.is_(None))
                                      .order_by(Account.id)).first()
            address = installation_address(account.fields or {}) if account else {}
        return Customer(self.ctx, self.client, facts, number), address

    def export_customer(self, contract_id: int) -> tuple[int, str]:
        """SGT's "Eksport do SMS": linked by external id if the SMS has the contract, else
        added; the personal data sent. Returns (customer number, what was done)."""
        customer, address = self._customer(contract_id)
        return customer.export(address)

    def custidupdate(self) -> dict[str, Any]:
        """Link every SMS customer whose external id is one of our contracts (SGT's
        tvcustidupdate; safe to run any number of times)."""
        found = self.client.cust_list("")
        result: dict[str, Any] = {"linked": [], "already": 0, "unknown": []}
        with self.ctx.session() as session:
            linked = store.customer_links(session)
            taken = set(linked.values())
            for customer in found:
                number, external = int(customer["cust_number"]), str(
                    customer.get("cust_external_id") or "").strip()
                if number in taken:
                    result["already"] += 1
                    continue
                contract_id = int(external) if external.isdigit() else None
                if (contract_id is None or contract_id > MAX_KEY
                        or session.get(Contract, contract_id) is None or contract_id in linked):
                    result["unknown"].append((number, external))
                    continue
                store.link_customer(session, contract_id, number)
                linked[contract_id] = number
                result["linked"].append((number, contract_id))
        return result

    def pins(self, contract_id: int) -> tuple[str, str]:
        customer = self._linked(contract_id)
        (data,) = self.client.cust_list(customer)
        return str(data.get("cust_vod_pin", "")), str(data.get("cust_master_pin", ""))

    def set_pins(self, contract_id: int, vod_pin: str, master_pin: str) -> None:
        vod, master = inputs.pin(vod_pin, "vod_pin"), inputs.pin(master_pin, "master_pin")
        customer, _ = self._customer(contract_id)
        customer.set_pins(vod, master)

    def _linked(self, contract_id: int) -> int:
        with self.ctx.session() as session:
            if session.get(Contract, contract_id) is None:
                raise ValidationError("contract_id", f"contract {contract_id} does not exist")
            number = store.customer_number(session, contract_id)
        if number is None:
            raise ValidationError("contract_id", f"contract {contract_id} is no SMS customer "
                                                 f"yet: export it first")
        return number

    def customers(self, page: int = 1, per_page: int = 50, sort: str = "cust_number",
                  descending: bool = False) -> tuple[list[CustomerRow], int]:
        """The SMS's customers, a page of them, sorted, with the contract, its number and
        balance beside each; and how many there are."""
        if sort not in SORTS:
            raise ValidationError("sort", f"must be one of {', '.join(SORTS)}")
        if page < 1 or not 1 <= per_page <= 1000:
            raise ValidationError("page", "page from 1, 1 to 1000 a page")
        found = self.client.cust_list("")
        with self.ctx.session() as session:
            by_number = {n: c for c, n in store.customer_links(session).items()}
            ids = set(by_number.values())
            contracts = {c.id: c for c in session.scalars(
                select(Contract).where(Contract.id.in_(ids)))} if ids else {}
            rows = []
            for item in found:
                number = int(item["cust_number"])
                contract = contracts.get(by_number.get(number))
                rows.append(CustomerRow(
                    number, f"{item.get('cust_name', '')} {item.get('cust_surname', '')}".strip(),
                    str(item.get("cust_external_id") or ""),
                    " ".join(str(item.get(f"cust_m_{k}") or "") for k in (
                        "street", "home_nr", "postal_code", "city")).strip(),
                    contract.id if contract else None, contract.number if contract else "",
                    contract.balance if contract else None))
        keys = {"cust_number": lambda r: r.cust_number, "name": lambda r: r.name.lower(),
                "contract": lambda r: r.contract_id or 0, "balance": lambda r: r.balance or 0}
        rows.sort(key=keys[sort], reverse=descending)
        # customers of no contract have no contract or balance to sort by: last either way
        rows = [r for r in rows if r.contract_id] + [r for r in rows if not r.contract_id]
        start = (page - 1) * per_page
        return rows[start:start + per_page], len(rows)

    # --- accounts and services ----------------------------------------------------------

    def tv_account(self, account_id: int) -> TvAccount:
        """A billing account on this agent, linked to its SMS account."""
        with self.ctx.session() as session:
            account = session.get(Account, account_id)
            if account is None or account.agent.type != CODE:
                raise ValidationError("account_id", f"account {account_id} is not a JAMBOX "
                                                    f"account")
        tv = TvAccount.load(self.ctx, account_id)
        if tv.facts.tv_account_id is None:
            raise ValidationError("account_id", f"account {account_id} has no SMS account yet "
                                                f"(see the outbox, or run jambox sync --fix)")
        return tv

    def packages(self) -> list[dict[str, Any]]:
        """The operator's offer: every package with its type."""
        return [{**package, "pkgt_name": group["pkgt_name"]}
                for group in self.client.package_get_all() for package in group["packages"]]

    def services(self, account_id: int) -> list[dict[str, Any]]:
        """The account's SMS services (with the billing subscription linked to each)."""
        tv = self.tv_account(account_id)
        current = tv.sms_account() or {"subscriptions": []}
        with self.ctx.session() as session:
            claimed = store.claimed_subscriptions(
                session, [int(s["subscription_id"]) for s in current["subscriptions"]])
        return [{**s, "billing_subscription": claimed.get(int(s["subscription_id"]))}
                for s in current["subscriptions"]]

    def _service(self, account_id: int, sms_id: int) -> tuple[TvAccount, dict[str, Any]]:
        tv = self.tv_account(account_id)
        current = tv.sms_account() or {"subscriptions": []}
        found = next((s for s in current["subscriptions"]
                      if int(s["subscription_id"]) == sms_id), None)
        if found is None:
            raise ValidationError("subscription", f"SMS service {sms_id} is not on account "
                                                  f"{account_id}")
        return tv, found

    def terminate(self, account_id: int, sms_id: int, on: str | date | None = None,
                  fee: str = "", reason: str = "") -> str:
        """End a service on `on` (default: the end of this billing period), with or
        without a penalty; SGT refuses a date that is no period's end, with its message."""
        amount = inputs.money(fee, "fee")
        end = inputs.day(on, "date") if on else None
        tv, _ = self._service(account_id, sms_id)
        end = end or month_end(tv.facts.today)
        self.client.subscription_terminate(tv.facts.tv_account_id, sms_id, end.isoformat(),
                                           amount, reason.strip()[:500])
        return end.isoformat()

    def activate(self, account_id: int, sms_id: int) -> None:
        tv, _ = self._service(account_id, sms_id)
        self.client.subscription_activate(tv.facts.tv_account_id, sms_id)

    def upgrades(self, account_id: int, sms_id: int) -> list[dict[str, Any]]:
        self._service(account_id, sms_id)
        return self.client.get_packages_for_upgrade(sms_id).get("packages") or []

    def upgrade(self, account_id: int, sms_id: int, package: int, on: str | date) -> None:
        """Replace a service by another package on one of the offered dates. The billing
        subscription linked to the old service is linked to the new one (the old one ends
        on that date), so the reconciliation does not take the new one for extra; it
        reports the package the billing's service should become."""
        switch = inputs.day(on, "date").isoformat()
        tv, _ = self._service(account_id, sms_id)
        offers = self.client.get_packages_for_upgrade(sms_id).get("packages") or []
        offer = next((o for o in offers if int(o["package_id"]) == package), None)
        if offer is None:
            offered = ", ".join(f"{o['package_id']} ({o['pkg_name']})" for o in offers) or "none"
            raise ValidationError("package", f"package {package} is not offered for service "
                                             f"{sms_id}; offered: {offered}")
        dates = [d["upgrade_date"] for d in offer.get("upgrade_dates") or []]
        if switch not in dates:
            raise ValidationError("date", f"{switch} is not a date of the upgrade; one of "
                                          f"{', '.join(dates)}")
        self.client.package_upgrade(sms_id, package, switch)
        services = (tv.sms_account() or {"subscriptions": []})["subscriptions"]
        with self.ctx.session() as session:
            claimed = store.claimed_subscriptions(
                session, [int(s["subscription_id"]) for s in services])
            new = next((s for s in services if int(s.get("package_id") or 0) == package
                        and not str(s.get("sub_valid_to") or "")
                        and int(s["subscription_id"]) not in claimed), None)
            if sms_id in claimed and new is not None:
                store.link_subscription(session, claimed[sms_id], new, tv.facts.tv_account_id)

    def gifts(self, account_id: int, sms_id: int) -> list[dict[str, Any]]:
        self._service(account_id, sms_id)
        return self.client.get_extra_packages_for_subscription(sms_id)

    def give_gift(self, account_id: int, sms_id: int, package: int) -> None:
        offered = self.gifts(account_id, sms_id)
        if package not in [int(g["package_id"]) for g in offered]:
            names = ", ".join(f"{g['package_id']} ({g['pkg_name']})" for g in offered) or "none"
            raise ValidationError("package", f"package {package} is no gift for service "
                                             f"{sms_id}; gifts: {names}")
        self.client.add_extra_package_for_subscription(sms_id, package)

    # --- set-top boxes ------------------------------------------------------------------

    def register_stb(self, mac: str, serial: str, model: str) -> str:
        address = inputs.mac(mac)
        self.client.stb_register(address, inputs.text(serial, "serial", 100),
                                 inputs.text(model, "model", 100))
        return address

    def remove_stb(self, mac: str) -> str:
        address = inputs.mac(mac)
        self.client.stb_remove(address)
        return address

    def stbs(self, where: str = "") -> list[dict[str, Any]]:
        if where not in ("", "stock", "customer"):
            raise ValidationError("where", "must be stock, customer or empty (all)")
        return self.client.stb_get_registered(where)

    def stock_macs(self, typed: str = "") -> list[str]:
        """MACs in stock that start like `typed` (lowercase, colons left out): the issue
        form's suggestions."""
        wanted = typed.replace(":", "").replace("-", "").upper()
        return [b["stb_mac"] for b in self.client.stb_get_registered("stock")
                if b["stb_mac"].replace(":", "").startswith(wanted)]

    def issue_stb(self, account_id: int, mac: str, subnet_id: int,
                  sms_id: int | None = None) -> str:
        """Issue a box from stock to a service of the account (default: its first running
        one), in a subnet."""
        address = inputs.mac(mac)
        if subnet_id not in [int(s["subnet_id"]) for s in self.client.subnet_list()]:
            raise ValidationError("subnet_id", f"subnet {subnet_id} does not exist")
        tv = self.tv_account(account_id)
        running = [s for s in (tv.sms_account() or {"subscriptions": []})["subscriptions"]
                   if not str(s.get("sub_valid_to") or "")]
        chosen = (next((s for s in running if int(s["subscription_id"]) == sms_id), None)
                  if sms_id is not None else (running[0] if running else None))
        if chosen is None:
            raise ValidationError("subscription", f"account {account_id} has no running SMS "
                                                  f"service {sms_id or ''}".rstrip())
        self.client.stb_link(tv.facts.tv_account_id, address, subnet_id,
                             int(chosen["cust_order_id"]))
        return address

    def return_stb(self, account_id: int, mac: str) -> str:
        address = inputs.mac(mac)
        tv = self.tv_account(account_id)
        self.client.stb_unlink(tv.facts.tv_account_id, address)
        return address

    def account_stbs(self, account_id: int) -> list[dict[str, Any]]:
        return self.client.account_get_stb(self.tv_account(account_id).facts.tv_account_id)

    # --- subnets ------------------------------------------------------------------------

    def subnets(self) -> list[dict[str, Any]]:
        return self.client.subnet_list()

    def split_subnet(self, subnet_id: int, name1: str | None = None,
                     name2: str | None = None) -> tuple[str, str]:
        """Split a subnet in two; the names default to `<name>.1` and `<name>.2`."""
        found = next((s for s in self.client.subnet_list() if int(s["subnet_id"]) == subnet_id),
                     None)
        if found is None:
            raise ValidationError("subnet_id", f"subnet {subnet_id} does not exist")
        first = inputs.text(name1, "name1", 100) if name1 else f"{found['subnet_name']}.1"
        second = inputs.text(name2, "name2", 100) if name2 else f"{found['subnet_name']}.2"
        if first == second:
            raise ValidationError("name2", "must differ from name1")
        self.client.subnet_split(subnet_id, first, second)
        return first, second

    # --- messages to TV screens ---------------------------------------------------------

    def send_message(self, contract_id: int | None, body: str, teaser: tuple[str, str],
                     shown: tuple[str, str], extended: str = "", confirm: int = 1,
                     priority: int = 1) -> int:
        """Send to one contract's customer, or (None) to every customer: the teaser (short
        text in the TV portal) and its dates, the full text and its dates in the TV panel,
        the read confirmation (0 PIN, 1 click, 2 teaser shown) and the display priority.
        Returns how many customers got it."""
        text = inputs.text(body, "body", 500)
        teaser_from, teaser_to = inputs.period(*teaser, "teaser")
        valid_from, valid_to = inputs.period(*shown, "valid")
        mode = inputs.read_confirmation(confirm)
        if not 0 <= priority <= 10:
            raise ValidationError("priority", "must be 0 to 10")
        number = self._linked(contract_id) if contract_id is not None else None
        return int(self.client.meldinger_send(number, text, teaser_from, teaser_to,
                                              (extended or "").strip(), valid_from, valid_to,
                                              mode, priority))

    def messages(self, contract_id: int | None = None) -> list[dict[str, Any]]:
        number = self._linked(contract_id) if contract_id is not None else ""
        return self.client.meldinger_list(number)

    def delete_messages(self, ids: list[int] | None = None,
                        contract_id: int | None = None) -> int:
        """Delete these messages, or every message of a contract's customer."""
        if ids:
            return int(self.client.meldinger_del(list(ids)) or 0)
        if contract_id is None:
            raise ValidationError("id", "give message ids or a contract")
        return int(self.client.meldinger_del(None, self._linked(contract_id)) or 0)
