"""Subscribers, contracts, accounts and payments made in the admin: through the core's
service functions (events, audit log in the manager's name), with refusals shown next
to the input they are about and nothing written."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import AgentType, Field, ValidationError
from core.models import (
    Account,
    AuditEntry,
    Contract,
    OutboxEvent,
    Payment,
    Phone,
    Subscriber,
    Subscription,
)


def _tv_rule(draft):
    if draft.fields.get("tv_username") and draft.fields["tv_username"] == draft.login:
        raise ValidationError("login", "must differ from the TV username")


class TvPlugin:
    """An agent type with settings and account fields of its own, and a rule."""

    def abonent_agent_types(self):
        return [AgentType(
            code="tv", title="TV platform",
            settings=(Field("url", "url", required=True), Field("token", secret=True, required=True)),
            account_fields=(Field("tv_username", required=True, pattern=r"\d{11}",
                                  help="the subscriber's phone"),
                            Field("pin", secret=True)),
            check_account=_tv_rule)]


@pytest.fixture
def abonent_plugins():
    return [("tv", TvPlugin())]


@pytest.fixture
def catalog(factory):
    factory.operator()
    internet = factory.service("Internet 100", price="500.00")
    tariff = factory.tariff("Home 100", base=[internet], extra=[factory.service("Static IP")])
    return {"tariff": tariff, "internet": internet, "agent": factory.agent(name="NAS 1"),
            "tv": factory.agent(type="tv", name="TV", url="http://tv.example", token="s3cret")}


def _location(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"]


def _id(url: str) -> int:
    return int(re.search(r"(\d+)$", url)[1])


def test_subscriber_contract_account_through_the_services(client, runtime, catalog):
    where = _location(client.post("/admin/subscriber/new/", {
        "kind": "person", "name": "Ivan Petrov", "phones": "+7 900 123-45-67\n8 (495) 111-22-33",
        "email": "ivan@example.net", "addresses": "Moscow, Lenina 1", "tax_id": "",
        "comment": ""}))
    assert "/admin/subscriber/card/" in where
    subscriber_id = _id(where)
    page = client.text(where)
    assert "Ivan Petrov" in page and "79001234567" in page and "New contract" in page

    where = _location(client.post(f"/admin/contract/new/?subscriber_id={subscriber_id}", {
        "subscriber_id": subscriber_id, "number": "", "credit_limit": "100",
        "grace_days": "", "grace_amount": ""}))
    contract_id = _id(where)
    assert "New account" in client.text(where)

    form = client.text(f"/admin/account/new/?contract_id={contract_id}")
    assert "New account on contract C-00001 of Ivan Petrov" in form
    where = _location(client.post(f"/admin/account/new/?contract_id={contract_id}", {
        "contract_id": contract_id, "login": "ivan", "agent_id": catalog["agent"].id,
        "tariff_id": catalog["tariff"].id, "start_on": "", "fields__ext_id": ""}))
    assert where.startswith("/admin/card/")
    card = client.text(where)
    assert "Internet 100" in card and "Home 100" in card and 'data-state="active"' in card

    with runtime.session() as s:
        subscriber = s.get(Subscriber, subscriber_id)
        assert [p.number for p in subscriber.phones] == ["79001234567", "84951112233"]
        assert subscriber.addresses == [{"kind": "postal", "text": "Moscow, Lenina 1"}]
        contract = s.get(Contract, contract_id)
        assert contract.number == "C-00001" and contract.credit_limit == Decimal("100.00")
        account = s.scalars(select(Account)).one()
        assert [x.is_base for x in s.scalars(select(Subscription))] == [True]
        assert s.scalars(select(OutboxEvent.name).order_by(OutboxEvent.id)).all() == [
            "account_created", "subscription_assigned"]
        audited = s.execute(select(AuditEntry.actor, AuditEntry.object_type, AuditEntry.action)
                            .where(AuditEntry.object_type.in_(["subscriber", "contract", "account"]))
                            .order_by(AuditEntry.id)).all()
        assert audited == [("manager:admin", "subscriber", "create"),
                           ("manager:admin", "contract", "create"),
                           ("manager:admin", "account", "create")]
        assert account.login == "ivan"


def test_refusals_are_shown_at_their_input_and_write_nothing(client, catalog, factory, counts):
    contract = factory.contract()
    factory.account(contract=contract, login="taken", agent=catalog["agent"])
    before = counts()
    cases = [
        ("/admin/subscriber/new/", {"kind": "person", "name": "X", "phones": "12ab"}, "phones",
         "is not a phone number"),
        ("/admin/subscriber/new/", {"kind": "person", "name": "X", "email": "nope"}, "email",
         "is not an e-mail address"),
        ("/admin/subscriber/new/", {"kind": "person", "name": "  "}, "name", "required"),
        ("/admin/contract/new/", {"subscriber_id": contract.subscriber_id, "credit_limit": "-5"},
         "credit_limit", "must not be negative"),
        ("/admin/contract/new/", {"subscriber_id": contract.subscriber_id, "credit_limit": "1",
                                   "number": contract.number}, "number", "already exists"),
        ("/admin/account/new/", {"contract_id": contract.id, "login": "has space",
                                 "agent_id": catalog["agent"].id,
                                 "tariff_id": catalog["tariff"].id}, "login", "must not contain spaces"),
        ("/admin/account/new/", {"contract_id": contract.id, "login": "taken",
                                 "agent_id": catalog["agent"].id,
                                 "tariff_id": catalog["tariff"].id}, "login", "already used"),
    ]
    for url, data, field, reason in cases:
        response = client.post(url, data)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, (url, data)
        # the reason is under the input named `field`, and said at the top too
        input_at = page.index(f'name="{field}"')
        assert reason in page[input_at:input_at + 1500], (field, reason)
        assert "Refused" in page
    assert counts() == before


def test_account_fields_declared_by_the_agent_type(client, runtime, catalog, factory):
    contract = factory.contract()
    tv = catalog["tv"].id
    form = client.text(f"/admin/account/new/?contract_id={contract.id}&agent_id={tv}")
    assert 'name="fields__tv_username"' in form and 'name="fields__pin"' in form
    data = {"contract_id": contract.id, "login": "tv-1", "agent_id": tv,
            "tariff_id": catalog["tariff"].id, "fields__tv_username": "12345", "fields__pin": "1111"}
    page = client.post("/admin/account/new/", data).get_data(as_text=True)
    at = page.index('name="fields__tv_username"')
    assert "does not match the expected form" in page[at:at + 1500]
    page = client.post("/admin/account/new/", {**data, "login": "79001112233",
                                               "fields__tv_username": "79001112233"}
                       ).get_data(as_text=True)
    assert "must differ from the TV username" in page
    where = _location(client.post("/admin/account/new/", {**data, "fields__tv_username": "79001112233"}))
    account_id = _id(where)
    with runtime.session() as s:
        assert s.get(Account, account_id).fields == {"tv_username": "79001112233", "pin": "1111"}
    edit = client.text(f"/admin/account/edit/?id={account_id}")
    assert "79001112233" in edit and "1111" not in edit  # a secret is never sent back
    _location(client.post(f"/admin/account/edit/?id={account_id}", {
        "login": "tv-2", "agent_id": tv, "fields__tv_username": "79001112233", "fields__pin": ""}))
    with runtime.session() as s:
        account = s.get(Account, account_id)
        assert account.login == "tv-2" and account.fields["pin"] == "1111"
        changed = s.scalars(select(OutboxEvent).where(OutboxEvent.name == "account_changed")).one()
        assert changed.payload["old"] == {"login": "tv-1"}


def test_editing_writes_old_and_new_values(client, runtime, factory):
    contract = factory.contract(credit_limit="0")
    subscriber_id = contract.subscriber_id
    _location(client.post(f"/admin/subscriber/edit/?id={subscriber_id}", {
        "kind": "company", "name": "OOO Romashka", "phones": "79990000000", "email": "",
        "addresses": "", "tax_id": "7701234567", "comment": ""}))
    _location(client.post(f"/admin/contract/edit/?id={contract.id}", {
        "credit_limit": "250", "grace_days": "3", "grace_amount": ""}))
    with runtime.session() as s:
        changes = dict(s.execute(select(AuditEntry.object_type, AuditEntry.changes)
                                 .where(AuditEntry.action == "update")).all())
        assert changes["subscriber"]["kind"] == {"old": "person", "new": "company"}
        assert changes["subscriber"]["phones"] == {"old": [], "new": ["79990000000"]}
        assert changes["contract"]["credit_limit"] == {"old": "0.00", "new": "250.00"}
        assert s.scalar(select(Phone.number)) == "79990000000"


def test_payment_form_is_idempotent(client, runtime, factory):
    contract = factory.contract()
    page = client.text(f"/admin/payment/new/?contract={contract.number}")
    key = re.search(r'name="key"[^>]*value="([0-9a-f]+)"', page)[1]
    data = {"contract": contract.number, "amount": "150,50", "comment": "cash", "key": key}
    first = client.post(f"/admin/payment/new/?url=/admin/contract/card/{contract.id}", data)
    assert _location(first) == f"/admin/contract/card/{contract.id}"
    again = client.post("/admin/payment/new/", data)  # the same form sent twice
    assert again.status_code == 302
    assert "nothing was added twice" in client.text("/admin/payment/")
    with runtime.session() as s:
        assert s.scalars(select(Payment.amount)).all() == [Decimal("150.50")]
        assert s.get(Contract, contract.id).balance == Decimal("150.50")
        assert s.scalar(select(Payment.created_by)) == "manager:admin"
    bad = client.post("/admin/payment/new/", {"contract": "NO-SUCH", "amount": "10", "key": "k2"})
    assert "no contract numbered NO-SUCH" in bad.get_data(as_text=True)


def test_lookup_by_phone_login_contract_and_name(client, factory, catalog):
    ivan = factory.subscriber(name="Ivan Petrov", phones=["+7 900 123-45-67"])
    maria = factory.subscriber(name="Maria Ivanova", phones=["79005550000"])
    a1 = factory.account(contract=factory.contract(ivan), login="petrov", agent=catalog["agent"])
    factory.account(contract=factory.contract(maria), login="maria", agent=catalog["agent"])
    factory.account(contract=factory.contract(maria), login="maria-tv", agent=catalog["agent"])

    def accounts(term):
        page = client.text(f"/admin/account/?search={term}")
        return sorted(re.findall(r'href="/admin/card/\d+">([^<]+)</a>', page))

    assert accounts("7900123") == ["petrov"]
    assert accounts("+7 (900) 555") == ["maria", "maria-tv"]
    assert accounts("mari") == ["maria", "maria-tv"]
    assert accounts("ivan") == ["maria", "maria-tv", "petrov"]  # in "Ivan", "Ivanova"
    assert accounts("petrov") == ["petrov"]  # the surname (and the login)
    assert accounts(a1.contract.number) == ["petrov"]
    assert accounts("nobody") == []
    # the box on every page: one account found opens its card
    single = client.get("/admin/search/?q=petrov")
    assert single.headers["Location"] == f"/admin/card/{a1.id}"
    several = client.text("/admin/search/?q=79005")
    assert "maria-tv" in several and "Maria Ivanova" in several
    refused = client.text("/admin/search/?q=%25")  # too short to search for
    assert "No account found" in refused and "type at least 3 characters" in refused
    assert "type at least 3 characters" in client.text("/admin/account/?search=ab")
