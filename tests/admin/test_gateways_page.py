"""Settings → Payment gateways: each configured payment system with its address,
protocol, state, allowed addresses and limits, the secret masked and a link to its own
payments; the protocols no gateway uses; the settings permission."""
from __future__ import annotations

import pytest

SECRET = "s3cret-of-the-terminals"
GATEWAYS = {"payment_gateways": {
    "term": {"protocol": "osmp", "secret": SECRET, "min_sum": "10", "max_sum": "5000"},
    "bank": {"protocol": "osmp", "secret": SECRET, "allowed_ips": ["192.0.2.0/24"],
             "enabled": False}}}


def _row(page: str, name: str) -> str:
    start = page.index(f'data-gateway="{name}"')
    return page[start:page.index("</tr>\n", start)]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("abonent_config", [GATEWAYS])
def test_each_gateway_masked_with_its_payments(login_as, factory, pay):
    contract = factory.contract()
    pay(contract, "150.00", source="gw:term", external_id="t-1")
    pay(contract, "70.00", source="gw:bank", external_id="b-1")
    vera = login_as("read-only", "vera")
    page = vera.text("/admin/gateways/")
    assert SECRET not in page and "••••••" in page
    term, bank = _row(page, "term"), _row(page, "bank")
    assert "/pay/term/</code>" in term and 'class="enabled">yes<' in term
    assert "10.00 to 5,000.00 a payment; 20 requests a second" in term
    assert 'class="enabled">no<' in bank and "192.0.2.0/24" in bank
    assert "unused-protocols" not in page  # osmp is used
    link = "/admin/payment/?flt0_0=gw:term"
    assert f'href="{link}"' in term
    payments = vera.text(link)
    assert "t-1" in payments and "b-1" not in payments
    assert login_as("cashier", "kate").get("/admin/gateways/").status_code == 403


@pytest.mark.sqlite_only
def test_a_protocol_no_gateway_uses_is_listed(login_as):
    page = login_as("read-only", "vera").text("/admin/gateways/")
    assert "No payment gateways are configured." in page
    assert 'data-protocol="osmp"' in page
