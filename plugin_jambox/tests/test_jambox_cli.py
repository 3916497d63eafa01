"""`abonent jambox …`: every scriptable function of SGT's module against the emulated SMS.
Bad MACs, dates, PINs, unknown packages or accounts are refused naming the option with
nothing sent; SGT's refusals come through with their Polish text; never a traceback."""
from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from core.services.payments import record_payment
from plugin_jambox import store
from plugin_jambox.cli import jambox
from plugin_jambox.emulator.packages import TERMINATION_RULE


class Ready:
    """What `abonent`'s commands get as their object: the runtime, ready."""

    def __init__(self, runtime):
        self.runtime = runtime

    def ready(self):
        return self.runtime


@pytest.fixture
def cli(jb):
    def run(*args: str, ok: bool = True) -> str:
        result = CliRunner().invoke(jambox, [str(a) for a in args], obj=Ready(jb.runtime))
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            result.exception
        assert (result.exit_code == 0) == ok, result.output
        return result.output
    return run


@pytest.fixture
def tv(jb):
    """A JAMBOX account delivered to the SMS (customer, account, base package 101)."""
    account = jb.account()
    jb.drain()
    return account


def sent(jb) -> list[str]:
    return [name for name, _ in jb.sms.calls]


def test_boxes_registered_with_any_mac_spelling_listed_issued_returned_removed(cli, jb, tv):
    assert "registered 00:1A:2B:3C:4D:5E" in cli("stb", "register", "001a2b3c4d5e",
                                                 "--serial", "OPR1", "--model", "Jambox Mini")
    assert jb.sms.stbs["00:1A:2B:3C:4D:5E"].serial == "OPR1"
    assert "00:1A:2B:3C:4D:5E" in cli("stb", "list", "--stock")
    subnet = next(iter(jb.sms.subnets))
    assert "issued to account" in cli("stb", "issue", tv.id, "00:1a:2b:3c:4d:5e",
                                      "--subnet", subnet)
    box = jb.sms.stbs["00:1A:2B:3C:4D:5E"]
    assert box.account_id == jb.tv_accounts(tv.contract_id)[0].account_id
    out = cli("stb", "remove", "00:1A:2B:3C:4D:5E", ok=False)
    assert "urządzenie jest wydane klientowi" in out
    cli("stb", "return", tv.id, "00:1A:2B:3C:4D:5E")
    cli("stb", "remove", "00-1A-2B-3C-4D-5E")
    assert "00:1A:2B:3C:4D:5E" not in jb.sms.stbs


@pytest.mark.parametrize("mac", ["00:1A:2B:3C:4D", "001a2b3c4d5g", "", "00:1A:2B:3C:4D:5E:6F"])
def test_a_bad_mac_is_refused_naming_it_and_nothing_is_sent(cli, jb, mac):
    calls = len(jb.sms.calls)
    assert "mac:" in cli("stb", "register", mac, "--serial", "S", "--model", "M", ok=False)
    assert len(jb.sms.calls) == calls


def test_a_box_sgt_bought_cannot_be_removed(cli, jb):
    jb.sms.seed_demo([])
    out = cli("stb", "remove", "00:1a:2b:3c:4d:12", ok=False)
    assert "zostało zakupione przez SGT" in out


def test_issue_to_an_unknown_subnet_or_account_is_refused_by_name(cli, jb, tv):
    jb.sms.seed_demo([])
    assert "subnet_id: subnet 999 does not exist" in cli(
        "stb", "issue", tv.id, "00:1A:2B:3C:4D:10", "--subnet", 999, ok=False)
    assert "account_id: account 424242 is not a JAMBOX account" in cli(
        "stb", "issue", 424242, "00:1A:2B:3C:4D:10", "--subnet", next(iter(jb.sms.subnets)),
        ok=False)
    assert "stbLink" not in sent(jb)


def test_customers_export_custidupdate_and_the_list_with_balances(cli, jb, factory, tv,
                                                                  jambox_client):
    other = factory.contract()
    with jb.runtime.session() as s:
        record_payment(s, other.id, "150.00", source="bank", external_id="p-1")
    number = jambox_client.cust_add({"cust_name": "Anna", "cust_surname": "Nowak",
                                     "cust_external_id": str(other.id)})
    stranger = jambox_client.cust_add({"cust_name": "Obcy", "cust_surname": "Klient",
                                       "cust_external_id": "LMS-7"})
    out = cli("customers", "custidupdate")
    assert f"linked   SMS customer {number} -> contract {other.id}" in out
    assert f"unknown  SMS customer {stranger}: external id LMS-7" in out
    assert "1 linked, 1 linked before, 1 without a contract" in out
    assert "0 linked, 2 linked before" in cli("customers", "custidupdate")
    listed = cli("customers", "list", "--sort", "balance", "--desc")
    lines = listed.splitlines()
    assert lines[0].startswith(str(number)) and "balance 150.00" in lines[0]
    assert "page 1, 3 of 3 customer(s)" in listed
    assert f"SMS customer {number} (updated)" in cli("customers", "export", other.id)


def test_export_links_a_customer_by_external_id_else_adds_one(cli, jb, factory, jambox_client):
    mine, fresh = factory.contract(), factory.contract()
    number = jambox_client.cust_add({"cust_name": "Jan", "cust_surname": "Kowalski",
                                     "cust_external_id": str(mine.id)})
    assert f"SMS customer {number} (linked by external id)" in cli("customers", "export",
                                                                   mine.id)
    assert "(added)" in cli("customers", "export", fresh.id)
    assert len(jb.sms.customers) == 2


def test_pins_are_shown_and_changed_four_digits_only(cli, jb, tv):
    customer = jb.customer(tv.contract_id)
    out = cli("customers", "pins", tv.contract_id)
    assert f"VOD PIN {customer.data['cust_vod_pin']}" in out
    assert "vod_pin: must be 4 digits" in cli("customers", "pins", tv.contract_id,
                                              "--vod", "12a4", "--master", "1111", ok=False)
    assert "master_pin: must be 4 digits" in cli("customers", "pins", tv.contract_id,
                                                 "--vod", "1234", "--master", "11111", ok=False)
    assert "custEdit" not in sent(jb)
    assert "VOD PIN 0042, master PIN 9999" in cli("customers", "pins", tv.contract_id,
                                                  "--vod", "0042", "--master", "9999")


def test_the_suspend_invoicing_switch(cli, jb, tv):
    cli("customers", "suspend-invoicing", tv.contract_id, "--on")
    with jb.runtime.session() as s:
        assert store.invoicing_suspended(s, tv.contract_id)
    cli("customers", "suspend-invoicing", tv.contract_id, "--off")
    with jb.runtime.session() as s:
        assert not store.suspended_contracts(s)
    assert "contract_id: contract 999999 does not exist" in cli(
        "customers", "suspend-invoicing", 999999, "--on", ok=False)


def test_termination_with_a_penalty_and_sgts_date_rule(cli, jb):
    with jb.day(date(2026, 11, 10)):
        account = jb.account()
        jb.drain()
        (service,) = jb.sms.subscriptions
        out = cli("services", "terminate", account.id, service, "--date", "2026-11-15",
                  ok=False)
        assert TERMINATION_RULE in out
        assert "date: '15.11.2026' is not a date" in cli(
            "services", "terminate", account.id, service, "--date", "15.11.2026", ok=False)
        assert "fee: 'dużo' is not an amount" in cli(
            "services", "terminate", account.id, service, "--fee", "dużo", ok=False)
        assert "ends on 2026-11-30" in cli("services", "terminate", account.id, service,
                                           "--fee", "150,5", "--reason", "rezygnacja")
        ended = jb.sms.subscriptions[service]
        assert (ended.valid_to, ended.term_fee, ended.term_desc) == (
            date(2026, 11, 30), "150.50", "rezygnacja")
        assert "until 2026-11-30" in cli("services", "list", account.id)


def test_upgrade_to_an_offered_package_and_date_then_a_gift(cli, jb):
    with jb.day(date(2026, 11, 10)):
        account = jb.account()
        jb.drain()
        (service,) = jb.sms.subscriptions
        offers = cli("services", "upgrades", account.id, service)
        assert "102    Pakiet Rodzinny HD" in offers and "2026-11-30  penalty gross 10.00" in offers
        assert "package: package 999 is not offered" in cli(
            "services", "upgrade", account.id, service, "--package", 999, "--date", "2026-11-30",
            ok=False)
        assert "date: 2026-11-20 is not a date of the upgrade" in cli(
            "services", "upgrade", account.id, service, "--package", 102, "--date", "2026-11-20",
            ok=False)
        assert "packageUpgrade" not in sent(jb)
        cli("services", "upgrade", account.id, service, "--package", 102, "--date", "2026-11-30")
        renewed = max(jb.sms.subscriptions)
        assert "301    Prezent Więcej Bajek" in cli("services", "gifts", account.id, renewed)
        assert "package: package 101 is no gift" in cli(
            "services", "gift", account.id, renewed, "--package", 101, ok=False)
        cli("services", "gift", account.id, renewed, "--package", 302)
        assert jb.packages(account.contract_id) == [
            (101, True, "2026-11-30"), (102, True, ""), (302, True, "2027-02-28")]
        # the billing's base subscription now stands for the new service: the sync leaves
        # it (and the gift) running and says which package the billing's service should be
        out = cli("sync", "--fix")
        assert "upgraded" in out and "package 102 (Pakiet Rodzinny HD)" in out
        assert "extra_service" not in out and "missing_service" not in out
        assert jb.packages(account.contract_id) == [
            (101, True, "2026-11-30"), (102, True, ""), (302, True, "2027-02-28")]


def test_an_unknown_service_of_the_account_is_refused_by_name(cli, jb, tv):
    assert "subscription: SMS service 5 is not on account" in cli(
        "services", "activate", tv.id, 5, ok=False)


def test_messages_to_one_customer_or_all_listed_and_deleted(cli, jb, tv, factory):
    other = jb.account("tv2", contract=factory.contract())
    jb.drain()
    dates = ["--teaser-from", "2026-11-10", "--teaser-to", "2026-11-20", "--from",
             "2026-11-10 08:00", "--to", "2026-11-30 20:00"]
    assert "sent to 2 customer(s)" in cli("messages", "send", "--all", "--body", "Przerwa",
                                          *dates)
    assert "sent to 1 customer(s)" in cli("messages", "send", "--contract", tv.contract_id,
                                          "--body", "Zaległość", "--text", "Prosimy o wpłatę",
                                          "--confirm", "0", *dates)
    assert "teaser_to: must be after teaser_from" in cli(
        "messages", "send", "--all", "--body", "x", "--teaser-from", "2026-11-20",
        "--teaser-to", "2026-11-10", "--from", "2026-11-10", "--to", "2026-11-11", ok=False)
    assert "valid_from: '10/11/2026' is not a date" in cli(
        "messages", "send", "--all", "--body", "x", "--teaser-from", "2026-11-10",
        "--teaser-to", "2026-11-20", "--from", "10/11/2026", "--to", "2026-11-11", ok=False)
    assert len(cli("messages", "list", "--contract", tv.contract_id).splitlines()) == 2
    assert len(cli("messages", "list").splitlines()) == 3
    first = min(jb.sms.messages)
    assert "1 message(s) deleted" in cli("messages", "delete", "--id", first)
    assert "1 message(s) deleted" in cli("messages", "delete", "--contract", tv.contract_id)
    assert [m.cust_number for m in jb.sms.messages.values()] == [
        jb.customer(other.contract_id).cust_number]


def test_subnets_listed_and_split_with_default_names(cli, jb):
    first = min(jb.sms.subnets)
    assert "Sieć główna" in cli("subnets", "list")
    assert "split into Sieć główna.1 and Sieć główna.2" in cli("subnets", "split", first)
    assert sorted(s.name for s in jb.sms.subnets.values()) == [
        "Osiedle Zielone", "Sieć główna.1", "Sieć główna.2"]
    assert "subnet_id: subnet 4242 does not exist" in cli("subnets", "split", 4242, ok=False)


def test_packages_list_the_offer(cli, jb):
    out = cli("packages")
    assert "101    Pakiety podstawowe" in out and "HBO" in out and "Prezent" not in out


def test_an_sms_that_does_not_answer_is_one_line(cli, jb, fault_proxy):
    proxy = fault_proxy(jb.emulator.url)
    jb.configure(sms_url=proxy.url, timeout="1")
    proxy.error(status=502, times=5)
    assert "the SMS did not answer: subnetList: HTTP 502" in cli("subnets", "list", ok=False)


def test_sync_finds_and_fixes_drift_both_ways(cli, jb, tv, jambox_client):
    (tv_account,) = jb.tv_accounts(tv.contract_id)
    jambox_client.account_lock(tv_account.account_id)
    jambox_client.packages_entitle(tv_account.account_id, [202], jb.sms.today.isoformat())
    out = cli("sync", ok=False)
    assert "found  account" in out and "lock" in out and "extra_service" in out
    fixed = cli("sync", "--fix")
    assert "fixed" in fixed
    assert not tv_account.locked
    assert jb.packages(tv.contract_id)[1][0] == 202 and jb.packages(tv.contract_id)[1][2]
    assert "0 drift" in cli("sync", "--account", tv.id)
