"""The emulated SMS's memory: customers, TV accounts, the package catalog, subscriptions
(with their order statuses), the STB stock, subnets, messages and billing events.

Every method call runs under ``lock`` (the server answers from several threads). ``today``
is the SMS's date (tests set it to stage the end of a billing period); ``calls`` lists
every call dispatched, as (method, arguments), so a test can show nothing was sent twice.

Other modules may keep their own data here: :mod:`plugin_jambox.emulator.billing` keeps
the billing events in ``billing_events`` and adds what else it needs.
"""
from __future__ import annotations

import calendar
import ipaddress
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import count
from typing import Any, Callable

from plugin_jambox.client import password_hash

from .catalog import DEFAULT_PACKAGES, DEFAULT_SUBNETS, Package

#: order statuses of a subscription: issue the STB, awaiting installation, installed
ISSUE_STB, AWAITING_INSTALLATION, INSTALLED = 1, 2, 3


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


@dataclass
class Customer:
    cust_number: int
    data: dict[str, str]

    def view(self) -> dict[str, Any]:
        return {"cust_number": self.cust_number, **self.data}


@dataclass
class TvAccount:
    account_id: int
    cust_number: int
    address: dict[str, str]
    locked: bool = False


@dataclass
class TvSubscription:
    subscription_id: int
    cust_order_id: int
    account_id: int
    package_id: int
    valid_from: date
    valid_to: date | None = None
    active: bool = True
    order_status_id: int = ISSUE_STB
    #: came from an upgrade (a renewed contract): a gift may be added to it, once
    renewed: bool = False
    gift_taken: bool = False
    term_fee: str = ""
    term_desc: str = ""

    def live(self, today: date) -> bool:
        """Still a service of the account: not terminated, or terminated in the future."""
        return self.valid_to is None or self.valid_to >= today


@dataclass
class Stb:
    stb_id: int
    mac: str
    serial: str
    model: str
    sgt_bought: bool = False
    account_id: int | None = None
    cust_order_id: int | None = None
    subnet_id: int | None = None
    ip: str = ""


@dataclass
class Subnet:
    subnet_id: int
    name: str
    network: ipaddress.IPv4Network


@dataclass
class Message:
    msg_id: int
    cust_number: int
    fields: dict[str, Any]


class Sms:
    """The state of one SMS installation, reached with one login and password."""

    def __init__(self, login: str = "demo", password: str = "demo",
                 packages: list[Package] | None = None):
        self.login = login
        self.password_md5 = password_hash(password)
        self.lock = threading.RLock()
        self.clock: Callable[[], date] = date.today
        self.packages: dict[int, Package] = {p.package_id: p for p in packages or DEFAULT_PACKAGES}
        self.reset()

    def reset(self) -> None:
        """Forget everything but the login and the catalog."""
        with self.lock:
            self.customers: dict[int, Customer] = {}
            self.accounts: dict[int, TvAccount] = {}
            self.subscriptions: dict[int, TvSubscription] = {}
            self.stbs: dict[str, Stb] = {}
            self.subnets: dict[int, Subnet] = {}
            self.messages: dict[int, Message] = {}
            self.billing_events: list[dict[str, Any]] = []
            #: cust_number -> (upload date, balance) pushed by setCustomerPaymentInfo
            self.payment_info: dict[int, tuple] = {}
            self.calls: list[tuple[str, tuple]] = []
            self._ids = {name: count(start) for name, start in (
                ("cust", 673041500), ("account", 40320), ("subscription", 197320),
                ("order", 880100), ("stb", 5100), ("subnet", 10), ("msg", 900))}
            for name, network in DEFAULT_SUBNETS:
                self.add_subnet(name, network)

    def next_id(self, kind: str) -> int:
        return next(self._ids[kind])

    @property
    def today(self) -> date:
        return self.clock()

    def set_today(self, day: date | None) -> None:
        """Fix the SMS's date (None: the real date again)."""
        self.clock = (lambda: day) if day is not None else date.today

    def authorised(self, auth: Any) -> bool:
        return (isinstance(auth, dict) and set(auth) == {"user_name", "user_pass"}
                and auth["user_name"] == self.login
                and str(auth["user_pass"]).lower() == self.password_md5)

    # -- helpers the method modules share ---------------------------------------------

    def add_subnet(self, name: str, network: str) -> Subnet:
        subnet = Subnet(self.next_id("subnet"), name, ipaddress.IPv4Network(network))
        self.subnets[subnet.subnet_id] = subnet
        return subnet

    def account_subscriptions(self, account_id: int) -> list[TvSubscription]:
        return [s for s in self.subscriptions.values() if s.account_id == account_id]

    def live_subscriptions(self, account_id: int) -> list[TvSubscription]:
        return [s for s in self.account_subscriptions(account_id) if s.live(self.today)]

    def subscribe(self, account_id: int, package_id: int, start: date, active: bool,
                  valid_to: date | None = None, renewed: bool = False) -> TvSubscription:
        subscription = TvSubscription(self.next_id("subscription"), self.next_id("order"),
                                      account_id, package_id, start, valid_to, active,
                                      renewed=renewed)
        self.subscriptions[subscription.subscription_id] = subscription
        return subscription

    def seed_demo(self, customers: list[dict[str, Any]] | None = None) -> None:
        """Demo customers with an account, a package and a box each, boxes in stock and
        messages: what `make run` shows before the billing has exported anything."""
        from .catalog import DEMO_CUSTOMERS, DEMO_STOCK
        with self.lock:
            for item in customers if customers is not None else DEMO_CUSTOMERS:
                customer = Customer(self.next_id("cust"), dict(item["customer"]))
                self.customers[customer.cust_number] = customer
                account = TvAccount(self.next_id("account"), customer.cust_number,
                                    dict(item["address"]))
                self.accounts[account.account_id] = account
                start = self.today - timedelta(days=40)
                subscription = self.subscribe(account.account_id, item["package_id"], start, True)
                subscription.order_status_id = INSTALLED
                if item.get("stb"):
                    mac, serial, model = item["stb"]
                    subnet = next(iter(self.subnets.values()))
                    self.stbs[mac] = Stb(self.next_id("stb"), mac, serial, model, True,
                                         account.account_id, subscription.cust_order_id,
                                         subnet.subnet_id, str(subnet.network[10 + len(self.stbs)]))
            for mac, serial, model, bought in DEMO_STOCK:
                self.stbs.setdefault(mac, Stb(self.next_id("stb"), mac, serial, model, bought))
