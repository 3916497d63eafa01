"""Set-top boxes and subnets: stbRegister/stbRemove/stbGetRegistered/stbLink/stbUnlink,
subnetList/subnetSplit.

SGT's rules kept here: a MAC is `XX:XX:XX:XX:XX:XX` (hex digits; stored uppercase) and
registered once; a box issued to a customer, or bought by SGT, cannot be removed; a box is
issued from stock to a service (order) of the account, in a subnet it gets an address in,
and returned to stock by the account it is at; a subnet splits in two halves, down to a
/30, while no box uses it.
"""
from __future__ import annotations

import re
from typing import Any

from .customers import account
from .methods import BAD_ARGUMENTS, ID, TEXT, method, not_found, refuse
from .state import Sms, Stb, Subnet

MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")
PLACES = ("stock", "customer", "")


def mac_of(value: str) -> str:
    if not MAC.fullmatch(value):
        raise refuse(f"Niepoprawny adres MAC {value!r} (XX:XX:XX:XX:XX:XX)", BAD_ARGUMENTS)
    return value.upper()


def box(sms: Sms, mac: str) -> Stb:
    found = sms.stbs.get(mac_of(mac))
    if found is None:
        raise not_found("STB", mac)
    return found


def subnet(sms: Sms, subnet_id: int) -> Subnet:
    found = sms.subnets.get(subnet_id)
    if found is None:
        raise not_found("Podsieć", subnet_id)
    return found


@method("stbRegister", TEXT, TEXT, TEXT)
def stb_register(sms: Sms, mac: str, serial: str, model: str) -> int:
    mac = mac_of(mac)
    if mac in sms.stbs:
        raise refuse(f"STB o adresie MAC {mac} jest już zarejestrowany")
    if not serial.strip() or not model.strip():
        raise refuse("Numer seryjny i model STB są wymagane", BAD_ARGUMENTS)
    new = Stb(sms.next_id("stb"), mac, serial.strip(), model.strip())
    sms.stbs[mac] = new
    return new.stb_id


@method("stbRemove", TEXT)
def stb_remove(sms: Sms, mac: str) -> bool:
    found = box(sms, mac)
    if found.account_id is not None:
        raise refuse(f"Nie można usunąć STB {found.mac}: urządzenie jest wydane klientowi")
    if found.sgt_bought:
        raise refuse(f"Nie można usunąć STB {found.mac}: urządzenie zostało zakupione przez SGT")
    del sms.stbs[found.mac]
    return True


@method("stbGetRegistered", TEXT)
def stb_get_registered(sms: Sms, where: str) -> list[dict[str, Any]]:
    if where not in PLACES:
        raise refuse(f"Niepoprawny filtr {where!r} (stock, customer lub pusty)", BAD_ARGUMENTS)
    found = []
    for item in sms.stbs.values():
        usage = "customer" if item.account_id is not None else "stock"
        if where in ("", usage):
            owner = sms.accounts.get(item.account_id) if item.account_id else None
            found.append({"stb_id": item.stb_id, "stb_model": item.model, "stb_mac": item.mac,
                          "stb_serial": item.serial, "stb_ip": item.ip, "stb_usage": usage,
                          "cust_number": owner.cust_number if owner else "",
                          "account_id": item.account_id or ""})
    return found


@method("stbLink", ID, TEXT, ID, ID)
def stb_link(sms: Sms, account_id: int, mac: str, subnet_id: int, cust_order_id: int) -> bool:
    account(sms, account_id)
    found = box(sms, mac)
    network = subnet(sms, subnet_id)
    if found.account_id is not None:
        raise refuse(f"STB {found.mac} jest już wydany klientowi")
    if not any(s.cust_order_id == cust_order_id and s.live(sms.today)
               for s in sms.account_subscriptions(account_id)):
        raise not_found("Zamówienie", cust_order_id)
    used = {b.ip for b in sms.stbs.values() if b.subnet_id == subnet_id}
    free = next((str(ip) for ip in network.network.hosts() if str(ip) not in used), None)
    if free is None:
        raise refuse(f"Brak wolnych adresów w podsieci {network.name}")
    found.account_id, found.cust_order_id, found.subnet_id, found.ip = (
        account_id, cust_order_id, subnet_id, free)
    return True


@method("stbUnlink", ID, TEXT)
def stb_unlink(sms: Sms, account_id: int, mac: str) -> bool:
    account(sms, account_id)
    found = box(sms, mac)
    if found.account_id != account_id:
        raise refuse(f"STB {found.mac} nie jest wydany na konto {account_id}")
    found.account_id = found.cust_order_id = found.subnet_id = None
    found.ip = ""
    return True


@method("subnetList")
def subnet_list(sms: Sms) -> list[dict[str, Any]]:
    return [{"subnet_id": s.subnet_id, "subnet_name": s.name,
             "subnet_net": str(s.network.network_address), "subnet_mask": str(s.network.netmask)}
            for s in sms.subnets.values()]


@method("subnetSplit", ID, TEXT, TEXT)
def subnet_split(sms: Sms, subnet_id: int, name1: str, name2: str) -> list[int]:
    found = subnet(sms, subnet_id)
    if found.network.prefixlen >= 30:
        raise refuse(f"Podsieci {found.name} nie można już podzielić")
    if any(b.subnet_id == subnet_id for b in sms.stbs.values()):
        raise refuse(f"Podsieci {found.name} nie można podzielić: są w niej wydane STB")
    if not name1.strip() or not name2.strip() or name1.strip() == name2.strip():
        raise refuse("Podaj dwie różne nazwy nowych podsieci", BAD_ARGUMENTS)
    del sms.subnets[subnet_id]
    halves = list(found.network.subnets(prefixlen_diff=1))
    return [sms.add_subnet(name.strip(), str(half)).subnet_id
            for name, half in zip((name1, name2), halves)]
