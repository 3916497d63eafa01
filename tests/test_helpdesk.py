"""HelpDesk services (core.helpdesk): the status flow and its history, internal comments
hidden from the subscriber, another contract's ticket not found, attachments refused by
size and by the type their bytes show, notices queued as mail (to the subscriber, and to
the assignee of the subscriber's answer), the public form's limit
per address, and a connection request turned into a subscriber."""
from __future__ import annotations

import pytest

from core import ValidationError
from core import helpdesk
from core.models import MailMessage, Subscriber, TicketHistory
from core.services import cabinet

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def abonent_config():
    return {"mail": {"host": "127.0.0.1", "from_address": "Support <support@isp.example>"},
            "helpdesk": {"max_attachment_kb": 1, "requests_per_hour": 2}}


@pytest.fixture
def accounts(factory):
    """Two subscribers' accounts (the first with an e-mail address)."""
    own = factory.account(contract=factory.contract(
        subscriber=factory.subscriber(email="anna@example.org")), login="anna")
    other = factory.account(login="boris")
    return own, other


def subscriber_session(runtime, account):
    return runtime.session(actor=cabinet.actor(account.login))


def mails(runtime) -> list[tuple[str, str]]:
    with runtime.session() as s:
        return [(m.recipient, m.subject) for m in s.query(MailMessage).order_by(MailMessage.id)]


def test_flow_thread_and_notices(runtime, accounts, manager_id):
    own, other = accounts
    with subscriber_session(runtime, own) as s:
        ticket_id = helpdesk.open_ticket(s, own.id, "internet", "No link", "Since noon").id
    with runtime.session(actor="manager:olga") as s:
        helpdesk.assign(s, ticket_id, manager_id)
        helpdesk.comment(s, ticket_id, "Checked the port", internal=True)
        assert helpdesk.get(s, ticket_id).status == "new"  # an internal note tells no one
        helpdesk.comment(s, ticket_id, "Please restart the router")
        helpdesk.change_status(s, ticket_id, "waiting")
        helpdesk.change_status(s, ticket_id, "waiting")  # again: nothing more
        with pytest.raises(ValidationError) as refused:
            helpdesk.change_status(s, ticket_id, "new")
        assert refused.value.field == "status"
    with subscriber_session(runtime, own) as s:
        helpdesk.comment(s, ticket_id, "Works now, thanks", account=s.get(type(own), own.id))
        ticket = helpdesk.ticket_of(s, s.get(type(own), own.id), ticket_id)
        seen = [c.text for c in helpdesk.thread(ticket, internal=False)]
        assert seen == ["Please restart the router", "Works now, thanks"]
        assert ticket.status == "in_work"  # the subscriber's answer took it back
        assert [(h.field, h.old, h.new, h.actor) for h in helpdesk.history(s, ticket_id)] == [
            ("assignee", None, "olga", "manager:olga"),
            ("status", "new", "in_work", "manager:olga"),
            ("status", "in_work", "waiting", "manager:olga"),
            ("status", "waiting", "in_work", "subscriber:anna")]
    with subscriber_session(runtime, other) as s:
        with pytest.raises(ValidationError) as hidden:
            helpdesk.ticket_of(s, s.get(type(other), other.id), ticket_id)
        assert hidden.value.code == "not_found"
        with pytest.raises(ValidationError):
            helpdesk.comment(s, ticket_id, "me too", account=s.get(type(other), other.id))
    assert mails(runtime) == [
        ("anna@example.org", f"An answer to your request #{ticket_id}"),
        ("anna@example.org", f"Your request #{ticket_id} is waiting for your answer"),
        ("olga@isp.example", f"The subscriber answered in request #{ticket_id}")]


@pytest.fixture
def manager_id(runtime):
    from admin import staff
    from plugins.testing_admin import add_manager
    staff.seed(runtime)  # the built-in roles
    olga = add_manager(runtime, "olga", "manager")
    with runtime.session() as s:
        staff.update_manager(s, olga, email="olga@isp.example")
    return olga


def test_attachments_refused_by_size_and_sniffed_type(runtime, accounts):
    own, _ = accounts
    with subscriber_session(runtime, own) as s:
        ticket = helpdesk.open_ticket(s, own.id, "tv", "Screen", "See the photo",
                                      files=[("photo.png", PNG)])
        assert [(a.filename, a.content_type, a.size) for a in ticket.attachments] == [
            ("photo.png", "image/png", len(PNG))]
    for name, data, says in (("big.png", PNG + b"\0" * 1024, "big.png is larger than 1 KiB"),
                             ("cat.png", b"<html><script>alert(1)</script>",
                              "cat.png is text/html, which is not accepted")):
        with pytest.raises(ValidationError) as refused:
            with subscriber_session(runtime, own) as s:
                helpdesk.comment(s, ticket.id, "another", files=[(name, data)],
                                 account=s.get(type(own), own.id))
        assert refused.value.field == "attachment"
        assert refused.value.reason.startswith(says)
    with runtime.session() as s:
        assert helpdesk.thread(helpdesk.get(s, ticket.id), internal=True) == []


def test_connection_request_limit_and_conversion(runtime):
    def send(address="10.0.0.1", phone="+7 900 111-22-33"):
        with runtime.session(actor="prospect:" + address) as s:
            return helpdesk.open_connection_request(
                s, name="Petr Sidorov", phone=phone, address="Lenina 1, flat 2",
                source_address=address).id
    first = send()
    send(phone="79001112234")
    with pytest.raises(ValidationError) as limited:
        send()
    assert (limited.value.field, limited.value.code) == ("requests", "rate_limited")
    send(address="10.0.0.2")  # another address has its own limit
    with runtime.session(actor="manager:olga") as s:
        values = helpdesk.prospect(helpdesk.get(s, first))
        assert values["phones"] == ["79001112233"]
        created = helpdesk.convert(s, first, **values)
        with pytest.raises(ValidationError):
            helpdesk.convert(s, first, **values)  # a second subscriber is never made
    with runtime.session() as s:
        subscriber = s.get(Subscriber, created.id)
        assert (subscriber.name, [p.number for p in subscriber.phones], subscriber.addresses) == (
            "Petr Sidorov", ["79001112233"], [{"kind": "postal", "text": "Lenina 1, flat 2"}])
        assert helpdesk.get(s, first).status == "closed"
        assert s.query(TicketHistory).filter_by(ticket_id=first).one().new == "closed"
