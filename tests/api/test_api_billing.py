"""The catalog's services and an account's subscriptions, usage records written once per
key, and invoices with their documents, through the REST API: the money each moves,
a refusal of each naming its field; every answer valid against the OpenAPI document."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import clock
from core.invoicing import invoice_period
from core.ledger import add_charge
from core.models import SensorType, UsageRecord



def _balance(client, contract_id: int) -> Decimal:
    return Decimal(client.call("GET", f"/api/v1/contracts/{contract_id}").json["balance"])


def _error(response) -> tuple[int, str | None]:
    return response.status_code, response.json["errors"][0]["field"]


@pytest.mark.sqlite_only
def test_services_and_subscriptions(api, factory, pay):
    addon = factory.service(name="TV addon", price="3.00", method="daily")
    other = factory.service(name="Not offered")
    account = factory.account(tariff=factory.tariff(extra=[addon]))
    pay(account.contract_id, "10.00")
    client = api("manager")
    listed = client.call("GET", "/api/v1/services?kind=periodic&limit=500").json["items"]
    assert {"TV addon", "Not offered"} <= {s["name"] for s in listed}
    assert client.call("GET", f"/api/v1/services/{addon.id}").json["price"] == "3.00"
    assert _error(client.call("GET", "/api/v1/services?kind=daily")) == (422, "kind")
    subscriptions = f"/api/v1/accounts/{account.id}/subscriptions"
    opening = _balance(client, account.contract_id)

    assert _error(client.call("POST", subscriptions, {"service_id": other.id})) == (
        422, "service_id")
    assert _error(client.call("POST", subscriptions, {"service_id": addon.id, "purchase": True,
                                                      "start_on": "2026-01-01"})) == (
        422, "start_on")
    bought = client.call("POST", subscriptions, {"service_id": addon.id, "purchase": True})
    assert bought.status_code == 201, bought.json
    assert bought.json["state"] == "active"
    assert _balance(client, account.contract_id) == opening - Decimal("3.00")

    mine = f"{subscriptions}/{bought.json['id']}"
    assert client.call("PATCH", mine, {"active": False}).json["state"] == "inactive"
    removed = client.call("DELETE", mine)
    assert (removed.json["state"], removed.json["end_reason"]) == ("ended", "removed")
    listed = client.call("GET", f"{subscriptions}?state=ended").json["items"]
    assert [s["id"] for s in listed] == [bought.json["id"]]
    stranger = factory.account()
    assert client.call("DELETE", f"/api/v1/accounts/{stranger.id}/subscriptions/"
                                 f"{bought.json['id']}").status_code == 404


@pytest.fixture
def meter(runtime, factory):
    """An account with ext_id 777 on a daily counter service at 3.00 a unit of sensor
    type sensor_1 (as the Wialon seed is)."""
    with runtime.session() as session:
        if session.get(SensorType, 1) is None:
            session.add(SensorType(id=1, name="sensor_1"))
    service = factory.service(name="Objects", kind="counter", price="0", method="daily",
                              price_per_unit=Decimal("3"), unit_id=5, sensor_type_id=1)
    account = factory.account(tariff=factory.tariff(base=[service]), fields={"ext_id": "777"})
    return account, service


def test_usage_is_written_once_per_key(api, meter, runtime):
    account, service = meter
    client = api("administrator")
    body = {"key": "meter-1:0001", "ext_id": "777", "sensor_type": "sensor_1", "unit_id": 5,
            "value": "6"}
    first = client.call("POST", "/api/v1/usage", body)
    again = client.call("POST", "/api/v1/usage", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json and first.json["state"] == "rated"
    assert _balance(client, account.contract_id) == Decimal("-18.00")  # 6 × 3.00, once

    other = client.call("POST", "/api/v1/usage", {**body, "value": "7"})
    assert _error(other) == (409, "key") and "value" in other.json["errors"][0]["message"]
    assert _error(client.call("POST", "/api/v1/usage", {**body, "key": "k2", "value": "x"})) == (
        422, "value")
    assert _error(client.call("POST", "/api/v1/usage", {**body, "key": "k3",
                                                        "sensor_type": "nope"})) == (
        422, "sensor_type")
    assert _error(client.call("POST", "/api/v1/usage", {**body, "key": "k4\x07"})) == (
        422, "key")
    assert _balance(client, account.contract_id) == Decimal("-18.00")
    assert api("manager").call("POST", "/api/v1/usage", body).status_code == 403

    listed = client.call("GET", f"/api/v1/usage?account_id={account.id}"
                                f"&service_id={service.id}").json
    assert [r["key"] for r in listed["items"]] == ["meter-1:0001"]
    assert _error(client.call("GET", f"/api/v1/usage?account_id={2**70}")) == (422, "account_id")
    with runtime.session() as session:
        assert session.scalars(select(UsageRecord.key)).all() == ["meter-1:0001"]


@pytest.mark.sqlite_only
def test_invoices_and_their_documents(api, factory, runtime, app):
    contract = factory.contract()
    with runtime.session() as session:
        add_charge(session, key="api-invoice", contract_id=contract.id, amount=Decimal("120.00"),
                   kind="manual", period_start=date(2024, 5, 10), period_end=date(2024, 5, 10))
    with clock.frozen(clock.now().replace(year=2024, month=6, day=1, hour=2)):
        invoice_period(runtime, date(2024, 5, 1), contract_id=contract.id)
    client = api("cashier")
    page = client.call("GET", f"/api/v1/invoices?contract_id={contract.id}&period=2024-05").json
    [invoice] = page["items"]
    assert invoice["gross"] == "120.00" and [line["gross"] for line in invoice["lines"]] == [
        "120.00"]
    assert client.call("GET", f"/api/v1/invoices/{invoice['id']}").json == invoice
    assert _error(client.call("GET", "/api/v1/invoices?period=May")) == (422, "period")

    act = client.call("GET", f"/api/v1/invoices/{invoice['id']}/document.html?kind=act")
    assert act.content_type.startswith("text/html") and invoice["number"] in act.get_data(
        as_text=True)
    document = client.call("GET", f"/api/v1/invoices/{invoice['id']}/document.pdf")
    assert document.content_type == "application/pdf" and document.data.startswith(b"%PDF")
    refused = client.call("GET", f"/api/v1/invoices/{invoice['id']}/document.pdf?kind=x")
    assert _error(refused) == (422, "kind")
    reference = app.test_client().get("/api/v1/docs").get_data(as_text=True)
    assert "<td>application/pdf</td>" in reference  # the answer's media type is shown
