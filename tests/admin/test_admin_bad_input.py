"""Bad input typed into the admin's URLs and forms: huge numbers, pages far beyond the
end, overlong repeated fields. Each is refused with a field's error (or clamped, for a
page number), never an internal error, and nothing is written."""
from __future__ import annotations

import pytest

HUGE = "99999999999999999999"
LISTS = ("subscriber", "contract", "account", "subscription", "block", "payment", "charge",
         "usage", "invoice", "operator", "numberplan", "agent", "tariff", "service", "unit",
         "sensortype", "audit", "manager", "role")


@pytest.mark.parametrize("endpoint", LISTS)
def test_a_page_far_beyond_the_end_is_an_empty_page(client, endpoint):
    response = client.get(f"/admin/{endpoint}/?page={HUGE}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]


@pytest.mark.parametrize("url", [
    f"/admin/outbox/?page={HUGE}", f"/admin/outbox/?account={HUGE}",
    f"/admin/card/{HUGE}", f"/admin/subscriber/card/{HUGE}", f"/admin/contract/card/{HUGE}",
    f"/admin/invoice/print/{HUGE}", f"/admin/invoice/csv/{HUGE}",
    f"/admin/account/edit/?id={HUGE}", f"/admin/payment/details/?id={HUGE}",
    f"/admin/account/?flt0_0={HUGE}", f"/admin/account/?flt1_1={HUGE}",
    f"/admin/subscription/?flt0_1={HUGE}", f"/admin/audit/?flt0_2={HUGE}",
    f"/admin/account/new/?contract_id={HUGE}&tariff_id={HUGE}&agent_id={HUGE}",
    f"/admin/contract/new/?subscriber_id={HUGE}", f"/admin/search/?q={HUGE}",
])
def test_huge_numbers_in_urls_are_no_internal_error(client, url):
    response = client.get(url)
    assert response.status_code in (200, 302, 400, 404), (url, response.status_code)


@pytest.fixture
def contract(factory):
    factory.operator()
    return factory.contract()


@pytest.mark.parametrize("url, data, field, reason", [
    ("/admin/subscriber/new/", {"kind": "person", "name": "X",
                                "phones": "\n".join(f"7900{i:07d}" for i in range(20_000))},
     "phones", "at most 10 are allowed"),
    ("/admin/subscriber/new/", {"kind": "person", "name": "X",
                                "addresses": "\n".join(f"street {i}" for i in range(11))},
     "addresses", "at most 10 are allowed"),
    ("/admin/contract/new/", {"credit_limit": "0", "grace_days": HUGE}, "grace_days",
     "must be from 0 to 365"),
    ("/admin/contract/new/", {"credit_limit": HUGE}, "credit_limit", "must be less than"),
])
def test_out_of_bounds_form_values_are_refused_at_their_input(client, contract, counts, url,
                                                               data, field, reason):
    before = counts()
    response = client.post(url, {"subscriber_id": contract.subscriber_id, **data})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "internal error" not in page
    assert "Refused" in page
    assert reason in page[page.index(f'name="{field}"'):], reason
    assert counts() == before


def test_contract_grace_days_beyond_bounds_is_refused_on_edit(client, contract, counts):
    before = counts()
    response = client.post(f"/admin/contract/edit/?id={contract.id}",
                           {"credit_limit": "0", "grace_days": HUGE})
    page = response.get_data(as_text=True)
    assert "must be from 0 to 365" in page and "internal error" not in page
    assert counts() == before
