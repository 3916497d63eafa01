"""Customers and their TV accounts: custAdd/custEdit/custList/custGetSubscriptions,
accountAdd/Edit/Del/Lock/Unlock/GetSTB.

SGT's rules kept here: a customer needs a name and a surname; PINs are four digits; the
external id (the billing's customer id) belongs to one customer; an account needs city,
street and house number, a postal code `NN-NNN`; an account with services (any
subscription not yet ended) cannot be deleted; a locked account cannot be locked again,
nor an unlocked one unlocked.
"""
from __future__ import annotations

import re
from typing import Any

from .methods import BAD_ARGUMENTS, ID, ID_OR_ALL, STRUCT, method, not_found, refuse, struct
from .state import Customer, Sms, TvAccount

ADDRESS = ("city", "postal_code", "street", "home_nr", "flat")
CUST_FIELDS = ("cust_name", "cust_surname", "cust_pesel", "cust_valid_num", "cust_external_id",
               *(f"cust_m_{p}" for p in ADDRESS), *(f"cust_c_{p}" for p in ADDRESS),
               "cust_email", "cust_phone1", "cust_phone2", "cust_vod_pin", "cust_master_pin")
ACC_FIELDS = tuple(f"cust_i_{p}" for p in ADDRESS)
ACC_REQUIRED = ("cust_i_city", "cust_i_street", "cust_i_home_nr")
PIN = re.compile(r"\d{4}")
POSTAL = re.compile(r"\d{2}-\d{3}")


def customer(sms: Sms, cust_number: int) -> Customer:
    found = sms.customers.get(cust_number)
    if found is None:
        raise not_found("Klient", cust_number)
    return found


def account(sms: Sms, account_id: int) -> TvAccount:
    found = sms.accounts.get(account_id)
    if found is None:
        raise not_found("Konto", account_id)
    return found


def _check_customer(sms: Sms, data: dict[str, str], cust_number: int | None) -> None:
    for pin in ("cust_vod_pin", "cust_master_pin"):
        if pin in data and not PIN.fullmatch(data[pin]):
            raise refuse(f"{pin}: PIN musi składać się z 4 cyfr", BAD_ARGUMENTS)
    for key in ("cust_m_postal_code", "cust_c_postal_code"):
        if data.get(key) and not POSTAL.fullmatch(data[key]):
            raise refuse(f"{key}: niepoprawny kod pocztowy (NN-NNN)", BAD_ARGUMENTS)
    external = data.get("cust_external_id", "")
    if external:
        for other in sms.customers.values():
            if other.cust_number != cust_number and other.data.get("cust_external_id") == external:
                raise refuse(f"Klient o zewnętrznym ID {external} już istnieje "
                             f"({other.cust_number})")


@method("custAdd", STRUCT)
def cust_add(sms: Sms, data: dict) -> int:
    data = struct("cust_data", data, CUST_FIELDS, ("cust_name", "cust_surname"))
    _check_customer(sms, data, None)
    new = Customer(sms.next_id("cust"), {key: data.get(key, "") for key in CUST_FIELDS})
    sms.customers[new.cust_number] = new
    return new.cust_number


@method("custEdit", ID, STRUCT)
def cust_edit(sms: Sms, cust_number: int, data: dict) -> bool:
    found = customer(sms, cust_number)
    data = struct("cust_data", data, CUST_FIELDS)
    for key in ("cust_name", "cust_surname"):
        if key in data and not data[key].strip():
            raise refuse(f"cust_data: pole {key} jest wymagane", BAD_ARGUMENTS)
    _check_customer(sms, data, cust_number)
    found.data.update(data)
    return True


@method("custList", ID_OR_ALL)
def cust_list(sms: Sms, cust_number: int | None) -> Any:
    if cust_number is not None:
        return customer(sms, cust_number).view()
    return [c.view() for c in sms.customers.values()]


def _account_view(sms: Sms, tv: TvAccount) -> dict[str, Any]:
    package = sms.packages
    return {"account_id": tv.account_id, "acc_active": 0 if tv.locked else 1, "acc_closed": 0,
            **tv.address,
            "subscriptions": [{
                "subscription_id": s.subscription_id, "cust_order_id": s.cust_order_id,
                "package_id": s.package_id, "pkg_name": package[s.package_id].pkg_name,
                "pkg_class": package[s.package_id].pkg_class,
                "pkg_additional_type": package[s.package_id].pkg_additional_type,
                "sub_valid_from": s.valid_from.isoformat(),
                "sub_valid_to": s.valid_to.isoformat() if s.valid_to else "",
                "sub_active": 1 if s.active else 0,
                "order_status_id": s.order_status_id}
                for s in sms.account_subscriptions(tv.account_id)]}


@method("custGetSubscriptions", ID)
def cust_get_subscriptions(sms: Sms, cust_number: int) -> list[dict[str, Any]]:
    customer(sms, cust_number)
    return [_account_view(sms, tv) for tv in sms.accounts.values()
            if tv.cust_number == cust_number]


def _address(data: dict) -> dict[str, str]:
    data = struct("acc_data", data, ACC_FIELDS, ACC_REQUIRED)
    if data.get("cust_i_postal_code") and not POSTAL.fullmatch(data["cust_i_postal_code"]):
        raise refuse("cust_i_postal_code: niepoprawny kod pocztowy (NN-NNN)", BAD_ARGUMENTS)
    return {key: data.get(key, "") for key in ACC_FIELDS}


@method("accountAdd", ID, STRUCT)
def account_add(sms: Sms, cust_number: int, data: dict) -> int:
    customer(sms, cust_number)
    new = TvAccount(sms.next_id("account"), cust_number, _address(data))
    sms.accounts[new.account_id] = new
    return new.account_id


@method("accountEdit", ID, STRUCT)
def account_edit(sms: Sms, account_id: int, data: dict) -> bool:
    found = account(sms, account_id)
    found.address = _address({**found.address, **data})
    return True


@method("accountDel", ID)
def account_del(sms: Sms, account_id: int) -> bool:
    account(sms, account_id)
    if sms.live_subscriptions(account_id):
        raise refuse("Nie można usunąć konta, które posiada przypisane usługi")
    for subscription in sms.account_subscriptions(account_id):
        del sms.subscriptions[subscription.subscription_id]
    del sms.accounts[account_id]
    return True


@method("accountLock", ID)
def account_lock(sms: Sms, account_id: int) -> bool:
    found = account(sms, account_id)
    if found.locked:
        raise refuse("Konto jest już objęte blokadą windykacyjną")
    found.locked = True
    return True


@method("accountUnlock", ID)
def account_unlock(sms: Sms, account_id: int) -> bool:
    found = account(sms, account_id)
    if not found.locked:
        raise refuse("Konto nie jest objęte blokadą windykacyjną")
    found.locked = False
    return True


@method("accountGetSTB", ID)
def account_get_stb(sms: Sms, account_id: int) -> list[dict[str, Any]]:
    account(sms, account_id)
    return [{"stb_model": b.model, "stb_mac": b.mac, "stb_serial": b.serial, "stb_ip": b.ip,
             "subnet_id": b.subnet_id, "cust_order_id": b.cust_order_id}
            for b in sms.stbs.values() if b.account_id == account_id]
