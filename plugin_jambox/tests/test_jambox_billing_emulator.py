"""The emulated SMS's billing methods, driven by Python's own XML-RPC client (the outside
world's): `billingEventsGet` lists the events of the days asked (a report too) and
refuses what SGT refuses; `setCustomerPaymentInfo` keeps the balances, or refuses the
whole call and keeps none; `generate_events` makes a month of 200,000 events quickly.
The plugin's stream reader agrees with the standard library's reading of the same
answer."""
from __future__ import annotations

import time
import xmlrpc.client
from datetime import date
from decimal import Decimal

import pytest

from plugin_jambox.billing_stream import iter_structs
from plugin_jambox.client import JamboxClient
from plugin_jambox.emulator import Sms
from plugin_jambox.emulator.billing import add_event, generate_events, report_id

from .conftest import LOGIN, PASSWORD

NOV = date(2026, 11, 1)


@pytest.fixture
def sms(jambox_emulator):
    return jambox_emulator.sms


@pytest.fixture
def proxy(jambox_emulator):
    with xmlrpc.client.ServerProxy(jambox_emulator.url, allow_none=True) as server:
        yield server


@pytest.fixture
def auth():
    return {"user_name": LOGIN, "user_pass": JamboxClient("http://x", LOGIN, PASSWORD)
            .auth["user_pass"]}


@pytest.fixture
def customer(sms, jambox_client):
    number = jambox_client.cust_add({"cust_name": "Anna", "cust_surname": "Nowak",
                                     "cust_external_id": "17"})
    account = jambox_client.account_add(number, {"cust_i_city": "Kraków",
                                                 "cust_i_street": "Długa", "cust_i_home_nr": "5"})
    return number, account


def test_billing_events_of_the_days_asked(sms, proxy, auth, customer):
    number, account = customer
    first = add_event(sms, number, account, date(2026, 11, 1), "65.00")
    second = add_event(sms, number, account, date(2026, 11, 2), "19.90", desc="HBO & <HD>",
                       vat="0.08", package_id=201, group_id=77)
    add_event(sms, number, account, date(2026, 11, 3), "95.00")

    events = proxy.billingEventsGet(auth, "2026-11-01", "2026-11-02", "")

    assert events == [
        {"id": first.id, "cust_external_id": "17", "cust_number": number, "account_id": account,
         "be_selling_date": "2026-11-01", "be_desc": "Pakiet Wielotematyczny 65",
         "be_vat": 0.23, "be_gross": 65.0, "be_b2b_netto": 35.75,
         "group_id": report_id(NOV), "package_id": 101},
        {"id": second.id, "cust_external_id": "17", "cust_number": number, "account_id": account,
         "be_selling_date": "2026-11-02", "be_desc": "HBO & <HD>", "be_vat": 0.08,
         "be_gross": 19.9, "be_b2b_netto": 10.95, "group_id": 77, "package_id": 201}]
    # one report, and the id argument left out
    assert [e["id"] for e in proxy.billingEventsGet(auth, "2026-11-01", "2026-11-30", 77)] \
        == [second.id]
    assert len(proxy.billingEventsGet(auth, "2026-11-01", "2026-11-30")) == 3
    assert proxy.billingEventsGet(auth, "2026-10-01", "2026-10-31", "") == []


@pytest.mark.parametrize("args, message", [
    (("2026/11/01", "2026-11-02", ""), "niepoprawna data '2026/11/01'"),
    (("2026-11-01", "2026-11-31", ""), "niepoprawna data '2026-11-31'"),
    (("2026-11-05", "2026-11-01", ""), "jest późniejsza niż końcowa"),
    (("2026-11-01",), "niepoprawna liczba argumentów"),
    (("2026-11-01", "2026-11-02", "", ""), "niepoprawna liczba argumentów"),
    ((20261101, "2026-11-02", ""), "argument 1 musi być typu string"),
    (("2026-11-01", "2026-11-02", "raport"), "argument 3 musi być typu int or empty string"),
])
def test_billing_events_refuses_what_sgt_refuses(proxy, auth, args, message):
    with pytest.raises(xmlrpc.client.Fault) as fault:
        proxy.billingEventsGet(auth, *args)
    assert message in fault.value.faultString


def test_billing_events_need_the_login(proxy):
    with pytest.raises(xmlrpc.client.Fault) as fault:
        proxy.billingEventsGet({"user_name": LOGIN, "user_pass": "0" * 32}, "2026-11-01",
                               "2026-11-01", "")
    assert "Błąd autoryzacji" in fault.value.faultString


def test_payment_info_keeps_each_balance(sms, proxy, auth, customer):
    number, _ = customer
    assert proxy.setCustomerPaymentInfo(auth, "2026-12-07",
                                        {str(number): {"cust_total_balance": -120.5}}) is True
    assert sms.payment_info == {number: (date(2026, 12, 7), Decimal("-120.50"))}


@pytest.mark.parametrize("balances, message", [
    ({"999": {"cust_total_balance": 1.0}}, "Klient 999 nie istnieje"),
    ({"{n}": {"cust_total_balance": "12.00"}}, "cust_total_balance musi być liczbą"),
    ({"{n}": {"balance": 1.0}}, "oczekiwano {cust_total_balance}"),
])
def test_payment_info_refuses_the_whole_call(sms, proxy, auth, customer, balances, message):
    number, _ = customer
    good = {str(number): {"cust_total_balance": 5.0}}
    bad = {key.format(n=number): value for key, value in balances.items()}
    with pytest.raises(xmlrpc.client.Fault) as fault:
        proxy.setCustomerPaymentInfo(auth, "2026-12-07", {**good, **bad} if "999" in bad
                                     else bad)
    assert message in fault.value.faultString
    assert sms.payment_info == {}
    with pytest.raises(xmlrpc.client.Fault) as fault:
        proxy.setCustomerPaymentInfo(auth, "07.12.2026", good)
    assert "niepoprawna data" in fault.value.faultString


def test_a_month_of_200000_events_is_made_quickly_and_read_alike():
    sms = Sms()
    started = time.perf_counter()
    generate_events(sms, 200_000, NOV, date(2026, 11, 30), [(673041500, "1", 40320),
                                                             (673041501, "2", 40321)])
    assert time.perf_counter() - started < 10
    assert len(sms.billing_events) == 200_000
    days = {e.selling_date for e in sms.billing_events}
    assert (min(days), max(days), len(days)) == (NOV, date(2026, 11, 30), 30)
    # the plugin's stream reader and the standard library read the same answer alike
    from plugin_jambox.emulator.methods import dispatch
    auth = {"user_name": "demo", "user_pass": sms.password_md5}
    streamed = dispatch(sms, "billingEventsGet", (auth, "2026-11-03", "2026-11-03", ""))
    body = b"".join(streamed.chunks)
    (standard,), _ = xmlrpc.client.loads(body, use_builtin_types=True)
    ours = list(iter_structs([body[i:i + 4096] for i in range(0, len(body), 4096)]))
    assert len(ours) == len(standard) > 6000
    assert all({key: type(value)(ours[i][key]) for key, value in standard[i].items()}
               == standard[i] for i in range(len(standard)))
