"""Every form of the admin, sent with whatever hypothesis makes up (huge and negative
numbers, control characters, formulas, very long text, options that are not offered),
as an administrator with a valid CSRF token: never a 500 nor an "internal error", and a
refused form writes nothing.

The forms are found on their pages (each <form method="post"> with its inputs, selects
and text areas), so a form added later is fuzzed without touching this file.
"""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import Contract

#: values that have broken forms before, mixed with hypothesis's own text
NASTY = ["", " ", "0", "-1", "1", "99999999999999999999", "1e309", "NaN", "-0.00", "10,50",
         "2024-05-01", "2024-13-45", "=cmd|' /C calc'!A1", "@SUM(1)", "x" * 5000,
         "a\r\nb", "\x00", "\t", "../../etc/passwd", "<script>alert(1)</script>", "ü€😀",
         "7900 123-45-67\n" * 30]
VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))

#: forms whose action leaves the admin or ends the session
SKIPPED_ACTIONS = ("/logout",)
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')
FIELD = re.compile(r"<(input|textarea)\b([^>]*)>()|<(select)\b([^>]*)>(.*?)</select>",
                   re.S | re.I)
OPTION = re.compile(r'<option\b[^>]*value="([^"]*)"', re.I)


def forms_on(page: str, url: str) -> list[tuple[str, dict[str, st.SearchStrategy]]]:
    """(action, {input name: what to send}) of each POST form: made-up values, or one of
    the options offered; a form's own CSRF token ("tariff-csrf_token") as the page has it
    (the client adds the main one)."""
    found = []
    for attrs, body in FORM.findall(page):
        attributes = dict(ATTR.findall(attrs))
        if attributes.get("method", "get").lower() != "post":
            continue
        action = urljoin(url, unescape(attributes.get("action") or url))
        if any(skip in action for skip in SKIPPED_ACTIONS):
            continue
        inputs: dict[str, st.SearchStrategy] = {}
        for match in FIELD.findall(body):
            tag, field_attrs, options = match[:3] if match[0] else match[3:]
            field = dict(ATTR.findall(field_attrs))
            name = field.get("name")
            if not name or name == "csrf_token" or field.get("type") in ("submit", "button"):
                continue
            offered = OPTION.findall(options or "") if tag.lower() == "select" else []
            if field.get("type") in ("hidden", "checkbox", "radio") and field.get("value"):
                offered = [unescape(field["value"])]
            if name.endswith("csrf_token"):
                inputs[name] = st.sampled_from(offered)
            else:
                inputs[name] = st.one_of(st.sampled_from(offered), VALUES) if offered else VALUES
        found.append((action, inputs))
    return found


@pytest.fixture
def pages(factory):
    """The pages that hold the admin's forms, on a small but complete set of data."""
    operator = factory.operator()
    internet = factory.service("Internet", price="500.00")
    tariff = factory.tariff("Home", base=[internet], extra=[factory.service("Static IP")])
    account = factory.account(tariff=tariff, agent=factory.agent(name="NAS"))
    contract_id = account.contract_id
    with factory.runtime.session() as s:
        subscriber_id = s.get(Contract, contract_id).subscriber_id
    return [
        "/admin/subscriber/new/", f"/admin/subscriber/edit/?id={subscriber_id}",
        f"/admin/contract/new/?subscriber_id={subscriber_id}",
        f"/admin/contract/edit/?id={contract_id}",
        f"/admin/account/new/?contract_id={contract_id}", f"/admin/account/edit/?id={account.id}",
        "/admin/payment/new/", "/admin/invoice/issue", f"/admin/card/{account.id}",
        f"/admin/operator/edit/?id={operator.id}", "/admin/numberplan/new/", "/admin/agent/new/",
        "/admin/tariff/new/", f"/admin/tariff/edit/?id={tariff.id}", "/admin/service/new/",
        "/admin/unit/new/", "/admin/sensortype/new/", "/admin/manager/new/", "/admin/role/new/",
        "/admin/profile/", "/admin/outbox/?state=all",
    ]  # not the jobs page: its forms are buttons without inputs, starting a job in the
    # background (its writes would land while another form is being judged)


#: the admin's lists, with the arguments a list URL takes
LISTS = ("subscriber", "contract", "account", "subscription", "block", "payment", "charge",
         "usage", "invoice", "operator", "numberplan", "agent", "tariff", "service", "unit",
         "sensortype", "audit", "manager", "role", "outbox", "search")
LIST_ARGS = ("page", "search", "sort", "desc", "flt0_0", "flt1_1", "flt2_2", "flt0_5", "id",
             "q", "state", "account", "plugin")


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(endpoint=st.sampled_from(LISTS),
       args=st.dictionaries(st.sampled_from(LIST_ARGS), VALUES, max_size=4))
def test_every_admin_list_survives_fuzzed_arguments(client, endpoint, args):
    response = client.get(f"/admin/{endpoint}/", query_string=args)
    assert response.status_code in (200, 302, 400, 404), (endpoint, args, response.status_code)
    assert "internal error" not in response.get_data(as_text=True)


def refused(client, response) -> bool:
    """Whether the answer says the form was refused (an error at an input or flashed)."""
    page = response.get_data(as_text=True)
    if response.status_code in (301, 302, 303):
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "internal error" not in page and "Something went wrong" not in page, page[:3000]
    return response.status_code >= 400 or "alert-danger" in page or "is-invalid" in page


def test_every_admin_form_survives_fuzzing(client, pages, counts):
    forms = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        for action, inputs in forms_on(response.get_data(as_text=True), url):
            forms.setdefault((action, tuple(inputs)), inputs)
    assert len(forms) >= 20, sorted(forms)

    for (action, _), inputs in sorted(forms.items()):
        @settings(max_examples=6, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(st.fixed_dictionaries(inputs))
        def send(data):
            before = counts()
            response = client.post(action, data)
            assert response.status_code != 500, (action, data)
            if refused(client, response):
                assert counts() == before, (action, data)

        send()
