"""Reading `billingEventsGet` answers: the stream reader takes exactly what
xmlrpc.client would, refuses (never skips) what is not an array of flat structs, turns a
fault into SGT's code and text; an event SGT sent is checked field by field, naming the
event and the field it cannot take."""
from __future__ import annotations

import xmlrpc.client
from datetime import date
from decimal import Decimal

import pytest

from plugin_jambox.billing_events import EventError, parse_event
from plugin_jambox.billing_stream import Fault, MalformedReply, iter_structs


def answer(value) -> bytes:
    return xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()


def read(body: bytes, size: int = 7) -> list[dict]:
    """Read `body` cut into chunks of `size` bytes (a struct split anywhere)."""
    return list(iter_structs([body[i:i + size] for i in range(0, len(body), size)]))


def test_each_struct_as_member_texts_in_any_chunking():
    events = [{"id": 1, "be_desc": "Pakiet <HD> & więcej", "be_gross": 19.9, "x": None,
               "flag": True}, {"id": 2, "empty": ""}]
    assert read(answer(events)) == [
        {"id": "1", "be_desc": "Pakiet <HD> & więcej", "be_gross": "19.9", "x": None,
         "flag": "1"}, {"id": "2", "empty": ""}]
    assert read(answer([])) == []
    bare = (b"<?xml version='1.0'?><methodResponse><params><param><value><array><data>"
            b"<value><struct><member><name>id</name><value>7</value></member></struct></value>"
            b"</data></array></value></param></params></methodResponse>")
    assert read(bare) == [{"id": "7"}]  # a value without a type is a string


def test_a_fault_is_sgts_code_and_text():
    with pytest.raises(Fault) as fault:
        read(xmlrpc.client.dumps(xmlrpc.client.Fault(4, "Brak uprawnień"),
                                 methodresponse=True).encode())
    assert (fault.value.code, fault.value.message) == (4, "Brak uprawnień")


@pytest.mark.parametrize("body, said", [
    (answer([{"id": 1}])[:-40], "is not complete XML"),
    (answer([{"id": 1}, 5]), "an item of the array is not a struct"),
    (answer([5, {"id": 1}]), "an item of the array is not a struct"),
    (answer([{"id": 1, "nested": {"a": 1}}]), "answer[1].nested is a struct, not a single value"),
    (answer([{"id": 1, "list": [1]}]), "answer[1].list is a array, not a single value"),
    (answer({"id": 1}), "is not an array"),
    (answer("ok"), "is not an array"),
    (b"<html><body>502 Bad Gateway</body></html>", "is not an array"),
    (b"", "is not complete XML"),
])
def test_anything_else_is_refused_whole(body, said):
    with pytest.raises(MalformedReply) as refused:
        read(body)
    assert said in str(refused.value)


EVENT = {"id": "7000001", "cust_external_id": "12", "cust_number": "673041500",
         "account_id": "40320", "be_selling_date": "2026-11-03", "be_desc": "HBO",
         "be_vat": "0.23", "be_gross": "19.90", "be_b2b_netto": "10.95", "group_id": "40001",
         "package_id": "201"}


def test_an_event_becomes_its_row():
    assert parse_event(EVENT) == {
        "sms_id": 7000001, "cust_number": "673041500", "cust_external_id": "12",
        "account_id": "40320", "selling_date": date(2026, 11, 3), "description": "HBO",
        "vat": Decimal("0.23"), "gross": Decimal("19.90"), "b2b_net": Decimal("10.95"),
        "report_id": 40001, "package_id": 201}
    loose = parse_event({**EVENT, "be_gross": "19.900000", "cust_external_id": "",
                         "be_selling_date": "2026-11-03 00:00:00", "be_b2b_netto": None,
                         "group_id": ""})
    assert (loose["gross"], loose["selling_date"], loose["cust_external_id"], loose["b2b_net"],
            loose["report_id"]) == (Decimal("19.90"), date(2026, 11, 3), None, None, None)
    assert parse_event({**EVENT, "be_desc": "x" * 400})["description"] == "x" * 299 + "…"


@pytest.mark.parametrize("field, value, said", [
    ("id", None, "event ?: id: is missing"),
    ("id", "0", "event 0: id: is not a positive number"),
    ("id", "7e3", "event ?: id: '7e3' is not a whole number"),
    ("be_vat", "23", "event 7000001: be_vat: 23.0000 is not a VAT fraction"),
    ("be_vat", "-0.1", "is not a VAT fraction"),
    ("be_gross", "19.999", "be_gross: '19.999' is not an amount with 2 decimal places"),
    ("be_gross", "NaN", "be_gross: 'NaN' is not a number"),
    ("be_gross", "abc", "be_gross: 'abc' is not a number"),
    ("be_selling_date", "2026-02-30", "be_selling_date: '2026-02-30' is not a day"),
    ("be_selling_date", "03.11.2026", "is not a day (YYYY-MM-DD)"),
    ("cust_number", "", "event 7000001: cust_number: is missing"),
    ("account_id", "1" * 21, "account_id: is longer than 20 characters"),
    ("package_id", "HBO", "package_id: 'HBO' is not a whole number"),
])
def test_an_event_that_cannot_be_taken_is_named(field, value, said):
    with pytest.raises(EventError) as refused:
        parse_event({**EVENT, field: value})
    assert said in str(refused.value)
