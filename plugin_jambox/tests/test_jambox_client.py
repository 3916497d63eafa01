"""The XML-RPC client: the auth struct first in every call, SGT's faults as refusals with
their Polish text, and every other failure (timeout, HTTP error, a reply cut short or not
XML-RPC at all) as "unavailable" - never a half-read result."""
from __future__ import annotations

import hashlib
import xmlrpc.client

import pytest

from plugin_jambox.client import JamboxClient, JamboxFault, JamboxUnavailable, password_hash
from plugin_jambox.emulator.packages import TERMINATION_RULE

from .conftest import LOGIN, PASSWORD


def sent(call) -> tuple:
    """(method, params) of a call the fault proxy saw."""
    params, method = xmlrpc.client.loads(call.body)
    return method, params


def test_every_call_sends_the_auth_struct_first_with_the_md5_of_the_password(
        jambox_emulator, fault_proxy):
    proxy = fault_proxy(jambox_emulator.url)
    client = JamboxClient(proxy.url, LOGIN, PASSWORD, timeout=2)
    number = client.cust_add({"cust_name": "Jan", "cust_surname": "Kowalski",
                              "cust_external_id": "17"})
    client.cust_list(number)
    auth = {"user_name": LOGIN, "user_pass": hashlib.md5(PASSWORD.encode()).hexdigest()}
    assert [sent(c) for c in proxy.calls] == [
        ("custAdd", (auth, {"cust_name": "Jan", "cust_surname": "Kowalski",
                            "cust_external_id": "17"})),
        ("custList", (auth, number))]


def test_a_password_given_as_md5_hex_is_sent_as_it_is(jambox_emulator):
    hashed = hashlib.md5(PASSWORD.encode()).hexdigest().upper()
    assert password_hash(hashed) == hashed.lower()
    client = JamboxClient(jambox_emulator.url, LOGIN, hashed, timeout=2)
    assert [g["pkgt_name"] for g in client.package_get_all()] == [
        "Pakiety podstawowe", "Pakiety dodatkowe"]


def test_a_wrong_password_is_the_sms_fault(jambox_emulator):
    client = JamboxClient(jambox_emulator.url, LOGIN, "wrong", timeout=2)
    with pytest.raises(JamboxFault) as refused:
        client.package_get_all()
    assert refused.value.message == "Błąd autoryzacji: niepoprawny login lub hasło"


def test_sgts_refusal_reaches_the_caller_as_it_came(jambox_client, jambox_emulator):
    number = jambox_client.cust_add({"cust_name": "Jan", "cust_surname": "Kowalski"})
    account = jambox_client.account_add(number, {"cust_i_city": "Kraków",
                                                 "cust_i_street": "Długa",
                                                 "cust_i_home_nr": "5"})
    jambox_client.packages_entitle(account, [101], jambox_emulator.sms.today.isoformat())
    (tv,) = jambox_client.cust_get_subscriptions(number)
    subscription = tv["subscriptions"][0]["subscription_id"]
    with pytest.raises(JamboxFault) as refused:
        jambox_client.subscription_terminate(account, subscription, "2031-01-15")
    assert str(refused.value) == TERMINATION_RULE
    assert refused.value.method == "subscriptionTerminate"


@pytest.mark.parametrize("arm", ["error", "hang", "garble", "lose_answer"])
def test_no_usable_answer_is_unavailable(jambox_emulator, fault_proxy, arm):
    proxy = fault_proxy(jambox_emulator.url)
    client = JamboxClient(proxy.url, LOGIN, PASSWORD, timeout=0.5)
    getattr(proxy, arm)()
    with pytest.raises(JamboxUnavailable) as failed:
        client.cust_add({"cust_name": "Jan", "cust_surname": "Kowalski",
                         "cust_external_id": "5"})
    assert failed.value.method == "custAdd"
    applied = len(jambox_emulator.sms.customers)
    assert applied == (1 if arm in ("garble", "lose_answer") else 0)


def test_a_reply_that_is_not_xml_rpc_is_unavailable(jambox_emulator, fault_proxy):
    proxy = fault_proxy(jambox_emulator.url)
    client = JamboxClient(proxy.url, LOGIN, PASSWORD, timeout=2)
    proxy.error(status=200, body="<html>Przerwa techniczna</html>")
    with pytest.raises(JamboxUnavailable, match="malformed reply"):
        client.package_get_all()


def test_the_events_call_waits_longer(jambox_emulator, fault_proxy):
    """Held 0.6 s and then dropped: an ordinary call (0.3 s) has given up by then, the
    billing events call (0.9 s) is still waiting when the connection drops."""
    proxy = fault_proxy(jambox_emulator.url)
    client = JamboxClient(proxy.url, LOGIN, PASSWORD, timeout=0.3, events_timeout=0.9)
    proxy.hang(seconds=0.6, times=2)
    with pytest.raises(JamboxUnavailable, match="no answer within 0.3 s"):
        client.package_get_all()
    with pytest.raises(JamboxUnavailable) as dropped:
        client.call("billingEventsGet", "2026-11-01", "2026-11-02")
    assert "no answer within" not in str(dropped.value)


def test_reads_are_cached_for_their_lifetime_and_a_write_drops_them(jambox_emulator):
    client = JamboxClient(jambox_emulator.url, LOGIN, PASSWORD, timeout=2, cache_lifetime=60)
    assert client.subnet_list() == client.subnet_list()
    assert [c[0] for c in jambox_emulator.sms.calls] == ["subnetList"]
    (first, *_) = client.subnet_list()
    client.subnet_split(first["subnet_id"], "A", "B")
    assert "A" in [s["subnet_name"] for s in client.subnet_list()]
    assert [c[0] for c in jambox_emulator.sms.calls] == ["subnetList", "subnetSplit",
                                                         "subnetList"]
