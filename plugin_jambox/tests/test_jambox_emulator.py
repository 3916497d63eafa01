"""The emulated SMS, driven by Python's own XML-RPC client (`xmlrpc.client.ServerProxy`,
the outside world's client, not ours): it agrees on the wire, and it refuses what SGT
refuses - a bad auth, a wrong number or type of arguments, unknown ids, and SGT's rules."""
from __future__ import annotations

import hashlib
import xmlrpc.client
from datetime import date

import pytest

from plugin_jambox.emulator.packages import TERMINATION_RULE

from .conftest import LOGIN, PASSWORD

AUTH = {"user_name": LOGIN, "user_pass": hashlib.md5(PASSWORD.encode()).hexdigest()}
ADDRESS = {"cust_i_city": "Kraków", "cust_i_street": "Długa", "cust_i_home_nr": "5",
           "cust_i_flat": "2", "cust_i_postal_code": "30-001"}


@pytest.fixture
def sms(jambox_emulator):
    jambox_emulator.sms.set_today(date(2026, 11, 10))
    proxy = xmlrpc.client.ServerProxy(jambox_emulator.url, allow_none=True)
    yield proxy
    proxy("close")()


def fault(call, *args) -> str:
    with pytest.raises(xmlrpc.client.Fault) as refused:
        call(AUTH, *args)
    return refused.value.faultString


def customer_with_account(sms, external="1") -> tuple[int, int]:
    number = sms.custAdd(AUTH, {"cust_name": "Jan", "cust_surname": "Kowalski",
                                "cust_external_id": external})
    return number, sms.accountAdd(AUTH, number, ADDRESS)


def subscriptions(sms, number: int) -> list[dict]:
    return [s for account in sms.custGetSubscriptions(AUTH, number)
            for s in account["subscriptions"]]


def test_a_call_without_the_right_auth_struct_is_refused(sms):
    assert "autoryzacji" in fault(lambda *a: sms.packageGetAll({"user_name": LOGIN,
                                                                "user_pass": "x"}))
    with pytest.raises(xmlrpc.client.Fault, match="autoryzacji"):
        sms.packageGetAll()
    with pytest.raises(xmlrpc.client.Fault, match="autoryzacji"):
        sms.custList(PASSWORD, "")


def test_wrong_argument_counts_and_types_are_refused(sms):
    assert "liczba argumentów" in fault(sms.custAdd)
    assert "liczba argumentów" in fault(sms.accountLock, 1, 2)
    assert "argument 1 musi być typu struct" in fault(sms.custAdd, "Jan Kowalski")
    assert "argument 2 musi być typu array" in fault(sms.packagesEntitle, 1, 101, "2026-11-10")
    assert "nieznane pole cust_nick" in fault(sms.custAdd, {"cust_name": "J", "cust_surname": "K",
                                                            "cust_nick": "x"})
    assert "Nieznana metoda" in fault(sms.custDelete, 1)


def test_unknown_ids_are_refused(sms):
    assert fault(sms.custGetSubscriptions, 1) == "Klient 1 nie istnieje"
    assert fault(sms.accountLock, "77") == "Konto 77 nie istnieje"
    number, account = customer_with_account(sms)
    assert fault(sms.packagesEntitle, account, [999], "2026-11-10") == "Pakiet 999 nie istnieje"
    assert fault(sms.subscriptionActivate, account, 5) == "Usługa 5 nie istnieje"
    assert fault(sms.stbRemove, "00:00:00:00:00:09") == "STB 00:00:00:00:00:09 nie istnieje"


def test_customers_their_pins_and_external_ids(sms):
    number = sms.custAdd(AUTH, {"cust_name": "Jan", "cust_surname": "Kowalski",
                                "cust_external_id": "41", "cust_vod_pin": "1234",
                                "cust_master_pin": "9876"})
    assert "4 cyfr" in fault(sms.custEdit, number, {"cust_vod_pin": "12a4"})
    sms.custEdit(AUTH, number, {"cust_vod_pin": "0000", "cust_master_pin": "1111"})
    one = sms.custList(AUTH, number)
    assert (one["cust_vod_pin"], one["cust_master_pin"], one["cust_external_id"]) == (
        "0000", "1111", "41")
    assert "już istnieje" in fault(sms.custAdd, {"cust_name": "A", "cust_surname": "B",
                                                 "cust_external_id": "41"})
    assert [c["cust_number"] for c in sms.custList(AUTH, "")] == [number]


def test_an_account_with_services_cannot_be_deleted(sms):
    number, account = customer_with_account(sms)
    sms.packagesEntitle(AUTH, account, [101, 201], "2026-11-10")
    assert fault(sms.accountDel, account) == ("Nie można usunąć konta, które posiada "
                                              "przypisane usługi")
    empty = sms.accountAdd(AUTH, number, ADDRESS)
    assert sms.accountDel(AUTH, empty) is True
    assert [a["account_id"] for a in sms.custGetSubscriptions(AUTH, number)] == [account]


def test_lock_and_unlock(sms):
    number, account = customer_with_account(sms)
    sms.accountLock(AUTH, account)
    assert sms.custGetSubscriptions(AUTH, number)[0]["acc_active"] == 0
    assert "już objęte" in fault(sms.accountLock, account)
    sms.accountUnlock(AUTH, account)
    assert sms.custGetSubscriptions(AUTH, number)[0]["acc_active"] == 1
    assert "nie jest objęte" in fault(sms.accountUnlock, account)


def test_packages_inactive_then_activated_and_the_package_rules(sms):
    number, account = customer_with_account(sms)
    assert "wymaga pakietu podstawowego" in fault(sms.packagesAdd, account, [201], "2026-11-10")
    assert "wcześniejsza" in fault(sms.packagesAdd, account, [101], "2026-11-09")
    sms.packagesAdd(AUTH, account, [101], "2026-11-12")
    (added,) = subscriptions(sms, number)
    assert (added["package_id"], added["sub_active"], added["sub_valid_from"]) == (
        101, 0, "2026-11-12")
    assert "tylko jeden pakiet podstawowy" in fault(sms.packagesEntitle, account, [102],
                                                    "2026-11-12")
    sms.subscriptionActivate(AUTH, account, added["subscription_id"])
    assert subscriptions(sms, number)[0]["sub_active"] == 1
    assert "już aktywna" in fault(sms.subscriptionActivate, account, added["subscription_id"])
    names = [p["pkg_name"] for g in sms.packageGetAvail(AUTH, account) for p in g["packages"]]
    assert names == ["HBO", "Filmbox", "Eleven Sports"]


def test_termination_only_at_the_end_of_a_billing_period(sms):
    number, account = customer_with_account(sms)
    sms.packagesEntitle(AUTH, account, [101], "2026-11-10")
    (sub,) = subscriptions(sms, number)
    assert fault(sms.subscriptionTerminate, account, sub["subscription_id"],
                 "2026-11-15") == TERMINATION_RULE
    assert fault(sms.subscriptionTerminate, account, sub["subscription_id"],
                 "2026-10-31") == TERMINATION_RULE
    sms.subscriptionTerminate(AUTH, account, sub["subscription_id"], "2026-11-30", "150.00",
                              "rezygnacja")
    assert subscriptions(sms, number)[0]["sub_valid_to"] == "2026-11-30"
    assert "już zaterminowana" in fault(sms.subscriptionTerminate, account,
                                        sub["subscription_id"], "2026-12-31")


def test_upgrade_on_an_offered_date_then_a_gift_once(sms):
    number, account = customer_with_account(sms)
    sms.packagesEntitle(AUTH, account, [101], "2026-11-10")
    (sub,) = subscriptions(sms, number)
    offer = sms.getPackagesForUpgrade(AUTH, sub["subscription_id"])
    assert [p["package_id"] for p in offer["packages"]] == [102, 103]
    assert [d["upgrade_date"] for d in offer["packages"][0]["upgrade_dates"]] == [
        "2026-11-30", "2026-12-31"]
    assert offer["packages"][0]["upgrade_dates"][0]["termination_fee"] == {
        "fee_cust_gross": "10.00", "fee_b2b_netto": "550.00"}
    assert "Niedozwolona data" in fault(sms.packageUpgrade, sub["subscription_id"], 102,
                                        "2026-11-20", True)
    assert sms.getExtraPackagesForSubscription(AUTH, sub["subscription_id"]) == []
    new = sms.packageUpgrade(AUTH, sub["subscription_id"], 102, "2026-11-30", True)
    gifts = sms.getExtraPackagesForSubscription(AUTH, new)
    assert [g["package_id"] for g in gifts] == [301, 302, 303]
    sms.addExtraPackageForSubscription(AUTH, new, 302)
    assert sms.getExtraPackagesForSubscription(AUTH, new) == []
    held = [(s["package_id"], s["sub_valid_from"], s["sub_valid_to"])
            for s in subscriptions(sms, number)]
    assert held == [(101, "2026-11-10", "2026-11-30"), (102, "2026-12-01", ""),
                    (302, "2026-11-10", "2027-02-28")]


def test_boxes_stored_uppercase_issued_returned_and_not_removed_when_issued_or_sgts(
        sms, jambox_emulator):
    jambox_emulator.sms.seed_demo([])
    assert "Niepoprawny adres MAC" in fault(sms.stbRegister, "001a2b3c4d99", "S1", "Mini")
    sms.stbRegister(AUTH, "00:1a:2b:3c:4d:99", "S1", "Mini")
    assert "już zarejestrowany" in fault(sms.stbRegister, "00:1A:2B:3C:4D:99", "S2", "Mini")
    stock = {b["stb_mac"]: b for b in sms.stbGetRegistered(AUTH, "stock")}
    assert stock["00:1A:2B:3C:4D:99"]["stb_usage"] == "stock"
    number, account = customer_with_account(sms)
    sms.packagesEntitle(AUTH, account, [101], "2026-11-10")
    (sub,) = subscriptions(sms, number)
    subnet = sms.subnetList(AUTH)[0]
    sms.stbLink(AUTH, account, "00:1A:2B:3C:4D:99", subnet["subnet_id"], sub["cust_order_id"])
    (issued,) = sms.accountGetSTB(AUTH, account)
    assert (issued["stb_mac"], issued["stb_ip"]) == ("00:1A:2B:3C:4D:99", "10.20.0.1")
    assert "wydane klientowi" in fault(sms.stbRemove, "00:1A:2B:3C:4D:99")
    assert "zakupione przez SGT" in fault(sms.stbRemove, "00:1A:2B:3C:4D:12")
    assert [b["cust_number"] for b in sms.stbGetRegistered(AUTH, "customer")] == [number]
    sms.stbUnlink(AUTH, account, "00:1A:2B:3C:4D:99")
    assert sms.stbRemove(AUTH, "00:1A:2B:3C:4D:99") is True


def test_subnets_split_in_halves(sms):
    (first, second) = sms.subnetList(AUTH)
    sms.subnetSplit(AUTH, first["subnet_id"], "Sieć główna.1", "Sieć główna.2")
    listed = [(s["subnet_name"], s["subnet_net"], s["subnet_mask"]) for s in sms.subnetList(AUTH)]
    assert listed == [("Osiedle Zielone", "10.20.1.0", "255.255.255.128"),
                      ("Sieć główna.1", "10.20.0.0", "255.255.255.128"),
                      ("Sieć główna.2", "10.20.0.128", "255.255.255.128")]
    assert "Podsieć" in fault(sms.subnetSplit, first["subnet_id"], "a", "b")


def test_messages_to_one_customer_or_to_all_deleted_one_or_per_customer(sms):
    one, _ = customer_with_account(sms, "1")
    two, _ = customer_with_account(sms, "2")
    when = ("2026-11-10", "2026-11-20", "Pełna treść", "2026-11-10 08:00", "2026-11-30 20:00")
    assert sms.meldingerSend(AUTH, None, "Przerwa techniczna", *when, 1, 1) == 2
    assert sms.meldingerSend(AUTH, one, "Zaległa płatność", *when, 0, 2) == 1
    assert "msg_prio" in fault(sms.meldingerSend, one, "x", *when, 7, 1)
    assert "koniec musi być po początku" in fault(
        sms.meldingerSend, one, "x", "2026-11-20", "2026-11-10", *when[2:], 1, 1)
    mine = sms.meldingerList(AUTH, one)
    assert [m["msg_body"] for m in mine] == ["Przerwa techniczna", "Zaległa płatność"]
    sms.meldingerDel(AUTH, [mine[0]["msg_id"]])
    assert len(sms.meldingerList(AUTH, "")) == 2
    assert sms.meldingerDel(AUTH, None, one) == 1
    assert [m["cust_number"] for m in sms.meldingerList(AUTH, "")] == [two]
