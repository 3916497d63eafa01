"""The big lists: totals and page count of the filtered set, filters on debt, state and
agent, sorting by balance, the CSV export of the filtered list, and bulk actions on the
ticked accounts through the service layer (events in the outbox, the audit log; a message
once per contract into the mail log), each behind its permission."""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from core.models import AuditEntry, Block, Contract, MailMessage, OutboxEvent

D = Decimal


@pytest.fixture
def owing(runtime, factory, block):
    """A (−50.00, net), B (−10.00, net, blocked by a manager), C (+20.00, tv)."""
    net, tv = factory.agent(name="net"), factory.agent(name="tv")
    made = {}
    for login, balance, agent in (("anna", "-50.00", net), ("boris", "-10.00", net),
                                  ("clara", "20.00", tv)):
        account = factory.account(login=login, agent=agent)
        with runtime.session() as s:
            s.get(Contract, account.contract_id).balance = D(balance)
        made[login] = account
    block(made["boris"], "admin")
    return made


def totals(page: str) -> str:
    start = page.index('id="list-totals"')
    return " ".join(page[start:page.index("</p>", start)].split())


def rows_of(page: str) -> int:
    return int(re.search(r'data-total="rows">(\d+)<', page)[1])


@pytest.mark.sqlite_only
def test_account_list_totals_filters_sorting_and_export(login_as, owing):
    client = login_as("read-only")
    debt = "/admin/account/?flt1_1=0"  # balance below 0
    page = client.text(debt)
    assert "anna" in page and "boris" in page and "clara" not in page
    assert rows_of(page) == 2 and 'data-total="pages">1<' in totals(page)
    assert "Balance: <strong data-total=\"1\">-60.00" in totals(page)
    assert "Debt: <strong data-total=\"2\">60.00" in totals(page)
    everything = client.text("/admin/account/")  # SQLite: counted and totalled exactly
    assert rows_of(everything) == 3 and 'data-total="pages">1<' in totals(everything)
    assert "Balance: <strong data-total=\"1\">-40.00" in totals(everything)
    assert "Debt: <strong data-total=\"2\">60.00" in totals(everything)
    blocked = client.text("/admin/account/?flt0_0=admin")
    assert "boris" in blocked and "anna" not in blocked and rows_of(blocked) == 1
    by_balance = client.text("/admin/account/?sort=5")
    assert by_balance.index("anna") < by_balance.index("boris") < by_balance.index("clara")
    exported = client.get(debt.replace("/?", "/export/csv/?"))
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0][0] == "Login" and len(rows) == 3
    assert {(r[0], r[5], r[6]) for r in rows[1:]} == {("anna", "active", "-50.00"),
                                                      ("boris", "admin", "-10.00")}


@pytest.mark.sqlite_only
def test_bulk_block_goes_through_the_service_layer(login_as, owing, runtime):
    client = login_as("manager")
    ids = [str(owing[login].id) for login in ("anna", "boris")]
    confirm = client.post("/admin/account/action/",
                          {"action": "block", "rowid": ids, "url": "/admin/account/"})
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and 'id="bulk-form"' in page and "boris" in page
    done = client.post("/admin/account/bulk", {"action": "block", "ids": ",".join(ids),
                                               "reason": "unpaid"}).get_data(as_text=True)
    assert "Done: 1" in done and "Failed: 1" in done and "already has a admin block" in done
    with runtime.session() as s:
        anna = owing["anna"].id
        assert s.scalars(select(Block.reason).where(Block.account_id == anna)).all() == [
            "unpaid"]
        assert "block_set" in s.scalars(select(OutboxEvent.name).where(
            OutboxEvent.account_id == anna)).all()
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "bulk_block")).one()
        assert entry.actor.startswith("manager:") and entry.changes["done"] == ["anna"]
        assert list(entry.changes["failed"]) == ["boris"]


@pytest.mark.sqlite_only
def test_bulk_actions_need_their_permission(login_as, owing, runtime):
    client = login_as("cashier")
    account = str(owing["anna"].id)
    assert client.post("/admin/account/action/", {"action": "block", "rowid": [account]}
                       ).status_code == 403
    assert client.post("/admin/account/bulk", {"action": "block", "ids": account}
                       ).status_code == 403
    assert 'data-model-action="block"' not in login_as("read-only").text("/admin/account/")
    with runtime.session() as s:
        assert s.scalars(select(Block).where(Block.account_id == owing["anna"].id)).all() == []


@pytest.mark.sqlite_only
def test_contract_and_payment_lists_by_agent(login_as, owing, pay):
    pay(owing["anna"].contract_id, "5.00", source="bank")
    pay(owing["clara"].contract_id, "7.50", source="bank")
    client = login_as("read-only")
    contracts = client.text("/admin/contract/?flt0_0=-20&sort=2")  # balance below −20
    assert rows_of(contracts) == 1 and "-45.00" in totals(contracts)
    payments = client.text("/admin/payment/?flt0_2=" + str(owing["clara"].agent_id))
    assert rows_of(payments) == 1 and "7.50" in totals(payments)
    assert "-27.50" in totals(client.text("/admin/contract/"))  # unfiltered: all three
    assert "12.50" in totals(client.text("/admin/payment/"))
    exported = client.get(f"/admin/contract/export/csv/?flt0_1={owing['clara'].agent_id}")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert [r[2] for r in rows[1:]] == ["27.50"]


@pytest.mark.postgresql_only
def test_unfiltered_lists_show_the_planners_estimate_and_cached_totals(login_as, owing, pay,
                                                                      runtime):
    """PostgreSQL: an analyzed table's unfiltered list shows the estimate, labelled as one,
    and totals computed at most a minute ago, labelled with their time; filtered, exact."""
    from admin.views import listing
    listing._everything.clear()  # totals another test's lists left in this process
    pay(owing["clara"].contract_id, "7.50", source="bank")
    client = login_as("read-only")
    with runtime.session() as s:
        s.execute(text("ANALYZE account, contract, payment"))
    accounts = totals(client.text("/admin/account/"))
    assert 'Rows: about <strong data-total="rows" data-estimated="1">3<' in accounts
    assert 'Pages: ≈ <strong data-total="pages" data-estimated="1">1<' in accounts
    assert "Balance: <strong data-total=\"1\">-32.50" in accounts and "totals as of" in accounts
    pay(owing["anna"].contract_id, "5.00", source="bank")
    assert "Balance: <strong data-total=\"1\">-27.50" in totals(client.text("/admin/contract/"))
    assert "-32.50" in totals(client.text("/admin/account/"))  # cached for a minute
    assert "Amount: <strong data-total=\"1\">12.50" in totals(client.text("/admin/payment/"))
    payments = client.text("/admin/payment/?flt0_2=" + str(owing["anna"].agent_id))
    assert rows_of(payments) == 1 and "5.00" in totals(payments)  # filtered: exact


@pytest.fixture
def abonent_config():
    """Outgoing mail set up (nothing is delivered: the test reads the mail log)."""
    return {"mail": {"host": "127.0.0.1", "port": "2525",
                     "from_address": "Billing <billing@isp.example>"}}


@pytest.mark.sqlite_only
def test_bulk_message_queues_one_mail_per_contract(login_as, factory, runtime):
    contract = factory.contract(subscriber=factory.subscriber(email="anna@example.org"))
    accounts = [factory.account(contract=contract), factory.account(contract=contract),
                factory.account()]  # the last one's subscriber has no e-mail
    ids = ",".join(str(a.id) for a in accounts)
    client = login_as("manager")
    refused = client.post("/admin/account/bulk", {"action": "message", "ids": ids,
                                                  "body": "Works tonight."})
    assert "Required." in refused.get_data(as_text=True)
    page = client.post("/admin/account/bulk", {"action": "message", "ids": ids,
                                               "subject": "Works", "body": "Works tonight."}
                       ).get_data(as_text=True)
    assert "Done: 1" in page and "Failed: 1" in page and "email:" in page
    with runtime.session() as s:
        assert s.scalars(select(MailMessage.contract_id)).all() == [contract.id]
