"""The JAMBOX pages of the admin: every function of SGT's module's screens against the
emulated SMS, as a manager sees them (the real login, CSRF, the plugins area's rights).
A refusal - ours naming the field, or SGT's text - is shown and nothing is written."""
from __future__ import annotations

from datetime import date

import pytest

from core.services.payments import record_payment
from plugin_jambox import store
from plugin_jambox.emulator.packages import TERMINATION_RULE


@pytest.fixture
def tv(jb):
    account = jb.account()
    jb.drain()
    return account


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_customer_list_with_balances_and_the_link_by_external_id(jb, tv, factory,
                                                                     admin_client, jambox_client):
    other = factory.contract()
    with jb.runtime.session() as s:
        record_payment(s, other.id, "75.00", source="bank", external_id="p-9")
    number = jambox_client.cust_add({"cust_name": "Anna", "cust_surname": "Nowak",
                                     "cust_external_id": str(other.id)})
    admin = admin_client()
    listed = admin.text("/admin/jambox_customers/?sort=name")
    assert str(number) in listed and "external id" in listed
    done = page(admin.post("/admin/jambox_customers/custidupdate", follow_redirects=True))
    assert "1 linked, 1 linked before, 0 without a contract" in done
    assert "75.00" in admin.text("/admin/jambox_customers/?sort=balance&desc=1")
    assert f"/admin/jambox_account/?account_id={tv.id}" in admin.text("/admin/jambox_customers/")


def test_the_account_page_terminates_upgrades_and_gives_a_gift(jb, admin_client):
    with jb.day(date(2026, 11, 10)):
        account = jb.account()
        jb.drain()
        (service,) = jb.sms.subscriptions
        admin = admin_client()
        shown = admin.text(f"/admin/jambox_account/?account_id={account.id}")
        assert "Pakiet Wielotematyczny 65" in shown and 'value="2026-11-30"' in shown
        refused = page(admin.post("/admin/jambox_account/terminate", {
            "account_id": account.id, "service": service, "date": "2026-11-15"},
            follow_redirects=True))
        assert TERMINATION_RULE in refused
        assert jb.sms.subscriptions[service].valid_to is None
        page(admin.post("/admin/jambox_account/upgrade", {
            "account_id": account.id, "service": service, "choice": "102|2026-11-30"},
            follow_redirects=True))
        renewed = max(jb.sms.subscriptions)
        gift = page(admin.post("/admin/jambox_account/gift", {
            "account_id": account.id, "service": renewed, "package": 303},
            follow_redirects=True))
        assert "The gift is given" in gift
        assert jb.packages(account.contract_id) == [
            (101, True, "2026-11-30"), (102, True, ""), (303, True, "2027-02-28")]


def test_boxes_issued_from_stock_returned_and_pins_changed(jb, tv, admin_client):
    jb.sms.seed_demo([])
    admin = admin_client()
    shown = admin.text(f"/admin/jambox_account/?account_id={tv.id}")
    assert '<option value="00:1A:2B:3C:4D:10">' in shown  # the stock suggested
    subnet = min(jb.sms.subnets)
    done = page(admin.post("/admin/jambox_account/issue", {
        "account_id": tv.id, "mac": "001a2b3c4d10", "subnet_id": subnet},
        follow_redirects=True))
    assert "00:1A:2B:3C:4D:10 issued" in done
    assert jb.sms.stbs["00:1A:2B:3C:4D:10"].account_id is not None
    page(admin.post("/admin/jambox_account/return", {"account_id": tv.id,
                                                     "mac": "00:1A:2B:3C:4D:10"},
                    follow_redirects=True))
    assert jb.sms.stbs["00:1A:2B:3C:4D:10"].account_id is None
    refused = page(admin.post("/admin/jambox_account/pins", {
        "account_id": tv.id, "contract_id": tv.contract_id, "vod_pin": "12", "master_pin": "1234"},
        follow_redirects=True))
    assert "Refused — vod_pin: must be 4 digits" in refused
    page(admin.post("/admin/jambox_account/pins", {
        "account_id": tv.id, "contract_id": tv.contract_id, "vod_pin": "2468",
        "master_pin": "1357"}, follow_redirects=True))
    customer = jb.customer(tv.contract_id)
    assert (customer.data["cust_vod_pin"], customer.data["cust_master_pin"]) == ("2468", "1357")


def test_invoicing_switch_messages_and_synchronise(jb, tv, admin_client):
    admin = admin_client()
    base = {"account_id": tv.id, "contract_id": tv.contract_id}
    assert "suspended from the next run" in page(admin.post(
        "/admin/jambox_account/invoicing", {**base, "suspend": "1"}, follow_redirects=True))
    with jb.runtime.session() as s:
        assert store.invoicing_suspended(s, tv.contract_id)
    message = {**base, "body": "Zaległa płatność", "teaser_from": "2026-11-10",
               "teaser_to": "2026-11-20", "valid_from": "2026-11-10", "valid_to": "2026-11-30",
               "confirm": "0", "priority": "1"}
    assert "Sent to 1 customer(s)" in page(admin.post("/admin/jambox_account/message", message,
                                                      follow_redirects=True))
    refused = page(admin.post("/admin/jambox_account/message", {**message, "confirm": "7"},
                              follow_redirects=True))
    assert "Refused — confirm: must be one of" in refused
    assert len(jb.sms.messages) == 1
    assert "Zaległa płatność" in admin.text(f"/admin/jambox_account/?account_id={tv.id}")
    page(admin.post("/admin/jambox_account/message/delete", {**base, "all": "1"},
                    follow_redirects=True))
    assert jb.sms.messages == {}
    (tv_account,) = jb.tv_accounts(tv.contract_id)
    tv_account.locked = True
    assert "1 fixed" in page(admin.post("/admin/jambox_account/sync", base,
                                        follow_redirects=True))
    assert not tv_account.locked


def test_the_box_list_register_and_remove(jb, admin_client):
    jb.sms.seed_demo([])
    admin = admin_client()
    assert "Refused — mac:" in page(admin.post("/admin/jambox_stb/register", {
        "mac": "zz", "serial": "S", "model": "M"}, follow_redirects=True))
    page(admin.post("/admin/jambox_stb/register", {"mac": "aa:bb:cc:dd:ee:ff",
                                                   "serial": "OPR9", "model": "Mini"},
                    follow_redirects=True))
    assert "AA:BB:CC:DD:EE:FF" in admin.text("/admin/jambox_stb/?where=stock")
    refused = page(admin.post("/admin/jambox_stb/remove", {"mac": "00:1A:2B:3C:4D:12"},
                              follow_redirects=True))
    assert "zostało zakupione przez SGT" in refused and "00:1A:2B:3C:4D:12" in jb.sms.stbs


def test_subnets_messages_to_all_and_packages(jb, tv, admin_client):
    admin = admin_client()
    first = min(jb.sms.subnets)
    assert "Sieć główna.1" in admin.text("/admin/jambox_subnets/")
    page(admin.post("/admin/jambox_subnets/split", {"subnet_id": first,
                                                    "name1": "", "name2": ""},
                    follow_redirects=True))
    assert sorted(s.name for s in jb.sms.subnets.values())[1:] == ["Sieć główna.1",
                                                                   "Sieć główna.2"]
    sent = page(admin.post("/admin/jambox_messages/send", {
        "body": "Przerwa techniczna", "teaser_from": "2026-11-10", "teaser_to": "2026-11-11",
        "valid_from": "2026-11-10 08:00", "valid_to": "2026-11-10 20:00"},
        follow_redirects=True))
    assert "Sent to 1 customer(s)" in sent
    (message,) = jb.sms.messages
    assert "Przerwa techniczna" in admin.text("/admin/jambox_messages/")
    page(admin.post("/admin/jambox_messages/delete", {"msg_id": message},
                    follow_redirects=True))
    assert jb.sms.messages == {}
    assert "Pakiet Rodzinny HD" in admin.text("/admin/jambox_packages/")


def test_a_read_only_manager_sees_but_cannot_post(jb, tv, admin_client):
    reader = admin_client("read-only")
    assert "Put in stock" in reader.text("/admin/jambox_stb/")  # plugins:view reads
    response = reader.post("/admin/jambox_stb/register", {"mac": "aa:bb:cc:dd:ee:01",
                                                          "serial": "S", "model": "M"})
    assert response.status_code == 403
    assert "AA:BB:CC:DD:EE:01" not in jb.sms.stbs


def test_pages_say_so_when_the_sms_does_not_answer(jb, tv, admin_client, fault_proxy):
    proxy = fault_proxy(jb.emulator.url)
    jb.configure(sms_url=proxy.url, timeout="1")
    proxy.error(status=503, times=100)
    admin = admin_client()
    assert "the SMS did not answer" in admin.text("/admin/jambox_stb/")
    assert "the SMS did not answer" in admin.text(f"/admin/jambox_account/?account_id={tv.id}")
