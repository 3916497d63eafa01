"""HelpDesk in the admin: a manager opens a ticket from the account card, takes it,
answers (the subscriber's notice queued as mail), notes internally, finds it in the
queues and filters; a read-only manager reads but cannot answer; a connection request
becomes a subscriber through the pre-filled form."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from core import helpdesk
from core.models import MailMessage, Manager, Subscriber, Ticket


@pytest.fixture
def abonent_config():
    return {"mail": {"host": "127.0.0.1", "from_address": "Support <support@isp.example>"}}


def test_a_ticket_from_the_card_worked_in_the_queue(login_as, factory, runtime):
    account = factory.account(login="anna", contract=factory.contract(
        subscriber=factory.subscriber(name="Anna Petrova", email="anna@example.org")))
    olga = login_as("manager", "olga")
    assert "new-ticket" in olga.text(f"/admin/card/{account.id}")
    opened = olga.post(f"/admin/helpdesk/new/{account.id}", {
        "category": "tv", "subject": "No picture", "text": "Called at 10:00",
        "files": (io.BytesIO(b"called twice\n"), "notes.txt")},
        follow_redirects=True)
    assert "Ticket #" in opened.get_data(as_text=True)
    with runtime.session() as s:
        ticket_id = s.scalars(select(Ticket.id)).one()
    page = f"/admin/helpdesk/{ticket_id}"
    with runtime.session() as s:
        manager_id = s.scalars(select(Manager.id).where(Manager.login == "olga")).one()
    olga.post(f"{page}/assign", {"assignee_id": str(manager_id)})
    olga.post(f"{page}/comment", {"text": "Checked the set-top box", "internal": "y"})
    olga.post(f"{page}/comment", {"text": "Please reconnect the cable"})
    shown = olga.text(page)
    assert "Checked the set-top box" in shown and "notes.txt" in shown
    assert 'id="ticket-status">In work<' in shown
    assert f'data-ticket="{ticket_id}"' in olga.text("/admin/helpdesk/?queue=mine")
    assert f'data-ticket="{ticket_id}"' not in olga.text("/admin/helpdesk/?queue=new")
    assert f'data-ticket="{ticket_id}"' in olga.text(
        "/admin/helpdesk/?queue=all&status=in_work&category=tv")
    with runtime.session() as s:
        assert [(m.recipient, m.queued_by) for m in s.scalars(select(MailMessage))] == [
            ("anna@example.org", "manager:olga")]

    reader = login_as("read-only", "vera")
    assert "Please reconnect the cable" in reader.text(page)
    assert reader.post(f"{page}/status", {"status": "closed"}).status_code == 403
    with runtime.session() as s:
        assert helpdesk.get(s, ticket_id).status == "in_work"


def test_a_connection_request_becomes_a_subscriber(login_as, runtime):
    with runtime.session(actor="prospect:10.0.0.9") as s:
        ticket_id = helpdesk.open_connection_request(
            s, name="Petr Sidorov", phone="+7 900 111-22-33", address="Lenina 1, flat 2",
            source_address="10.0.0.9").id
    olga = login_as("manager", "olga")
    form = olga.text(f"/admin/helpdesk/{ticket_id}/subscriber")
    assert 'value="Petr Sidorov"' in form and 'value="79001112233"' in form
    refused = olga.post(f"/admin/helpdesk/{ticket_id}/subscriber", {
        "name": "Petr Sidorov", "phone": "12", "address": "Lenina 1, flat 2"})
    assert "must have 5 to 15 digits" in refused.get_data(as_text=True)
    made = olga.post(f"/admin/helpdesk/{ticket_id}/subscriber", {
        "name": "Petr Sidorov", "phone": "79001112233", "address": "Lenina 1, flat 2"})
    assert made.status_code == 302
    with runtime.session() as s:
        subscriber = s.scalars(select(Subscriber)).one()
        assert (subscriber.name, subscriber.addresses[0]["text"]) == (
            "Petr Sidorov", "Lenina 1, flat 2")
        assert (helpdesk.get(s, ticket_id).status,
                helpdesk.get(s, ticket_id).subscriber_id) == ("closed", subscriber.id)
