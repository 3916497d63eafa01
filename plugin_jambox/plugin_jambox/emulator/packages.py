"""Packages and services: packageGetAll/packageGetAvail, packagesAdd/packagesEntitle,
subscriptionActivate, subscriptionTerminate, upgrades and gifts.

SGT's rules kept here: an account has at most one basic package at a time and an
additional one needs it; a package is not given twice; services start today or later;
a service ends only at the end of a billing period (a calendar month), with SGT's
message; an upgrade goes to another basic package on one of the dates offered; a gift is
given once per renewed (upgraded) service and ends by itself after three months.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .catalog import ADDITIONAL, BASIC, GIFT, Package
from .customers import account
from .methods import (ARRAY, BAD_ARGUMENTS, BOOL, ID, TEXT, day, method, not_found, refuse)
from .state import Sms, TvSubscription, month_end

TERMINATION_RULE = "Usługa może zostać zaterminowana jedynie na koniec okresu rozliczeniowego"
UPGRADE_FEE = {"fee_cust_gross": "10.00", "fee_b2b_netto": "550.00"}
GIFT_MONTHS = 3


def _grouped(packages: list[Package]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict]] = {}
    for package in packages:
        groups.setdefault(package.pkgt_name, []).append(package.view())
    return [{"pkgt_name": name, "packages": items} for name, items in groups.items()]


def package(sms: Sms, package_id: Any) -> Package:
    try:
        found = sms.packages.get(int(package_id))
    except (TypeError, ValueError):
        found = None
    if found is None or isinstance(package_id, bool):
        raise not_found("Pakiet", package_id)
    return found


def subscription(sms: Sms, subscription_id: int, account_id: int | None = None) -> TvSubscription:
    found = sms.subscriptions.get(subscription_id)
    if found is None or (account_id is not None and found.account_id != account_id):
        raise not_found("Usługa", subscription_id)
    return found


def _available(sms: Sms, account_id: int) -> list[Package]:
    held = {sms.packages[s.package_id] for s in sms.live_subscriptions(account_id)}
    has_basic = any(p.pkg_class == BASIC for p in held)
    return [p for p in sms.packages.values()
            if p not in held and not p.pkg_denied
            and (p.pkg_class == ADDITIONAL if has_basic else p.pkg_class == BASIC)]


@method("packageGetAll")
def package_get_all(sms: Sms) -> list[dict[str, Any]]:
    return _grouped([p for p in sms.packages.values() if p.pkg_class != GIFT])


@method("packageGetAvail", ID)
def package_get_avail(sms: Sms, account_id: int) -> list[dict[str, Any]]:
    account(sms, account_id)
    return _grouped(_available(sms, account_id))


def _give(sms: Sms, account_id: int, package_ids: list, start_text: str, active: bool
          ) -> list[int]:
    account(sms, account_id)
    start = day("date", start_text)
    if start < sms.today:
        raise refuse("Data aktywacji nie może być wcześniejsza niż dzisiejsza")
    if not package_ids:
        raise refuse("Nie wybrano żadnego pakietu", BAD_ARGUMENTS)
    wanted = [package(sms, item) for item in package_ids]
    # what the account holds on the start day (a service ending before it is no obstacle)
    held = {sms.packages[s.package_id] for s in sms.account_subscriptions(account_id)
            if s.valid_to is None or s.valid_to >= start}
    basics = [p for p in [*held, *wanted] if p.pkg_class == BASIC]
    for item in wanted:
        if item in held or wanted.count(item) > 1:
            raise refuse(f"Pakiet {item.pkg_name} jest już przypisany do konta {account_id}")
        if item.pkg_class == GIFT or item.pkg_denied:
            raise refuse(f"Pakiet {item.pkg_name} nie jest dostępny dla tego konta")
        if item.pkg_class == ADDITIONAL and not basics:
            raise refuse(f"Pakiet dodatkowy {item.pkg_name} wymaga pakietu podstawowego")
    if len(basics) > 1:
        raise refuse(f"Konto {account_id} może mieć tylko jeden pakiet podstawowy")
    return [sms.subscribe(account_id, item.package_id, start, active).subscription_id
            for item in wanted]


@method("packagesAdd", ID, ARRAY, TEXT)
def packages_add(sms: Sms, account_id: int, package_ids: list, start: str) -> list[int]:
    return _give(sms, account_id, package_ids, start, active=False)


@method("packagesEntitle", ID, ARRAY, TEXT)
def packages_entitle(sms: Sms, account_id: int, package_ids: list, start: str) -> list[int]:
    return _give(sms, account_id, package_ids, start, active=True)


@method("subscriptionActivate", ID, ID)
def subscription_activate(sms: Sms, account_id: int, subscription_id: int) -> bool:
    found = subscription(sms, subscription_id, account_id)
    if found.active:
        raise refuse(f"Usługa {subscription_id} jest już aktywna")
    found.active = True
    found.valid_from = max(found.valid_from, sms.today + timedelta(days=1))
    return True


@method("subscriptionTerminate", ID, ID, TEXT, TEXT, TEXT, optional=2)
def subscription_terminate(sms: Sms, account_id: int, subscription_id: int, term_date: str,
                           term_fee: str = "", term_desc: str = "") -> bool:
    found = subscription(sms, subscription_id, account_id)
    end = day("term_date", term_date)
    if found.valid_to is not None:
        raise refuse(f"Usługa {subscription_id} została już zaterminowana na dzień "
                     f"{found.valid_to.isoformat()}")
    if end != month_end(end) or end < sms.today or end < found.valid_from:
        raise refuse(TERMINATION_RULE)
    if term_fee:
        try:
            if Decimal(term_fee.replace(",", ".")) < 0:
                raise InvalidOperation
        except InvalidOperation:
            raise refuse(f"term_fee: niepoprawna kwota {term_fee!r}", BAD_ARGUMENTS) from None
    found.valid_to, found.term_fee, found.term_desc = end, term_fee, term_desc
    return True


def _upgrade_dates(sms: Sms) -> list[date]:
    this_month = month_end(sms.today)
    return [this_month, month_end(this_month + timedelta(days=1))]


def _upgrades(sms: Sms, found: TvSubscription) -> list[Package]:
    current = sms.packages[found.package_id]
    if current.pkg_class != BASIC or not found.live(sms.today) or found.valid_to is not None:
        return []
    return [p for p in sms.packages.values()
            if p.pkg_class == BASIC and p is not current and not p.pkg_denied]


@method("getPackagesForUpgrade", ID)
def get_packages_for_upgrade(sms: Sms, subscription_id: int) -> dict[str, Any]:
    found = subscription(sms, subscription_id)
    dates = [{"upgrade_date": d.isoformat(), "termination_fee": dict(UPGRADE_FEE)}
             for d in _upgrade_dates(sms)]
    return {"packages": [{"package_id": p.package_id, "pkg_name": p.pkg_name,
                          "pkg_desc": p.pkg_desc, "upgrade_dates": dates}
                         for p in _upgrades(sms, found)]}


@method("packageUpgrade", ID, ID, TEXT, BOOL)
def package_upgrade(sms: Sms, subscription_id: int, new_package_id: int, when: str,
                    confirmed: bool) -> int:
    found = subscription(sms, subscription_id)
    target = package(sms, new_package_id)
    if target not in _upgrades(sms, found):
        raise refuse(f"Usługi {subscription_id} nie można zmienić na pakiet {target.pkg_name}")
    switch = day("date", when)
    if switch not in _upgrade_dates(sms):
        raise refuse(f"Niedozwolona data przejścia {when}")
    if not confirmed:
        raise refuse("Upgrade nie został potwierdzony")
    found.valid_to = switch
    new = sms.subscribe(found.account_id, target.package_id, switch + timedelta(days=1), True,
                        renewed=True)
    new.order_status_id = found.order_status_id
    return new.subscription_id


def _gifts(sms: Sms, found: TvSubscription) -> list[Package]:
    if not found.renewed or found.gift_taken or not found.live(sms.today):
        return []
    return [p for p in sms.packages.values() if p.pkg_class == GIFT]


@method("getExtraPackagesForSubscription", ID)
def get_extra_packages(sms: Sms, subscription_id: int) -> list[dict[str, Any]]:
    found = subscription(sms, subscription_id)
    return [{"package_id": p.package_id, "pkg_name": p.pkg_name, "pkg_desc": p.pkg_desc}
            for p in _gifts(sms, found)]


@method("addExtraPackageForSubscription", ID, ID)
def add_extra_package(sms: Sms, subscription_id: int, package_id: int) -> int:
    found = subscription(sms, subscription_id)
    gift = package(sms, package_id)
    if gift not in _gifts(sms, found):
        raise refuse(f"Pakiet {gift.pkg_name} nie może zostać wydany jako prezent do usługi "
                     f"{subscription_id}")
    start = sms.today
    month = start.month - 1 + GIFT_MONTHS
    end = month_end(date(start.year + month // 12, month % 12 + 1, 1))
    found.gift_taken = True
    return sms.subscribe(found.account_id, gift.package_id, start, True, end).subscription_id
