"""The integrator's journey through the REST API alone (issue 16's "done when"): a webhook
endpoint, a subscriber with a contract and an account, a payment sent twice, a block and
its lift — the money, the events in the outbox, the audit log's actor, and the webhooks
the integrator's endpoint receives signed, once each, in order; every answer valid
against the OpenAPI document."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from core.models import AuditEntry, OutboxEvent, Payment
from webhook_receiver import receivers  # noqa: F401 (a fixture)

WANTED = ["payment_received", "block_set", "block_lifted"]


def test_integrators_journey(api, factory, runtime, drain, receivers):
    tariff, agent = factory.tariff(), factory.agent()
    factory.operator()
    client = api("manager")
    receiver = receivers()
    endpoint = api("administrator").call("POST", "/api/v1/webhooks",
                                         {"url": receiver.url, "events": WANTED})
    receiver.secret = endpoint.json["secret"]

    made = client.call("POST", "/api/v1/subscribers",
                       {"name": "Vera Petrova", "phones": ["+7 912 345 67 89"]})
    assert made.status_code == 201, made.json
    subscriber = made.json["id"]
    contract = client.call("POST", "/api/v1/contracts", {"subscriber_id": subscriber}).json
    account = client.call("POST", "/api/v1/accounts", {
        "contract_id": contract["id"], "login": "vera", "agent_id": agent.id,
        "tariff_id": tariff.id}).json
    assert account["state"] == "active" and account["agent_type"] == "generic"
    opening = Decimal(client.call("GET", f"/api/v1/contracts/{contract['id']}").json["balance"])

    payment = {"contract_number": contract["number"], "amount": "500.00",
               "external_id": "T-77", "source": "terminals"}
    first = client.call("POST", "/api/v1/payments", payment)
    again = client.call("POST", "/api/v1/payments", payment)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json and first.json["amount"] == "500.00"
    balance = client.call("GET", f"/api/v1/contracts/{contract['id']}").json["balance"]
    assert Decimal(balance) == opening + Decimal("500.00")

    blocked = client.call("POST", f"/api/v1/accounts/{account['id']}/blocks",
                          {"source": "admin", "reason": "asked by the CRM"})
    assert blocked.status_code == 201
    assert client.call("GET", f"/api/v1/accounts/{account['id']}").json["state"] == "admin"
    lifted = client.call("DELETE", f"/api/v1/accounts/{account['id']}/blocks/admin")
    assert lifted.json["lifted_at"] is not None
    assert client.call("GET", f"/api/v1/accounts/{account['id']}").json["state"] == "active"

    with runtime.session() as session:
        events = list(session.scalars(select(OutboxEvent.name).where(
            OutboxEvent.contract_id == contract["id"]).order_by(OutboxEvent.id)))
        payments = session.scalars(select(Payment).where(
            Payment.contract_id == contract["id"])).all()
        actors = set(session.scalars(select(AuditEntry.actor).where(
            AuditEntry.object_type.in_(("subscriber", "payment", "account")))))
    assert [p.amount for p in payments] == [Decimal("500.00")]
    assert [e for e in events if e in WANTED] == WANTED
    assert actors == {f"api:{client.name}"}

    drain()  # the worker delivers the webhooks
    assert [(r.type, r.signed, r.body["contract_id"]) for r in receiver.received] == [
        (name, True, contract["id"]) for name in WANTED]
    assert receiver.received[0].body["data"]["payment"]["amount"] == "500.00"

    reversal = client.call("POST", f"/api/v1/payments/{first.json['id']}/reverse",
                           {"reason": "paid twice by the terminal"})
    assert reversal.status_code == 201 and reversal.json["amount"] == "-500.00"
    assert client.call("GET", f"/api/v1/contracts/{contract['id']}").json["balance"] == (
        str(opening))
