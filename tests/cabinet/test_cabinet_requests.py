"""The cabinet's "My requests" and the public connection form: a subscriber opens a
request with a photo, another subscriber gets 404 for it and its file, a manager's
internal note never reaches the page, a file whose bytes are HTML is refused by name,
and the public form wants its CSRF token and answers 429 past its limit per address."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from core import helpdesk
from core.models import Ticket, TicketAttachment
from core.services import cabinet

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.fixture
def abonent_config():
    return {"helpdesk": {"requests_per_hour": 1}}


def test_requests_are_the_subscribers_own(client, new_client, world, factory, runtime):
    sent = client.post("/my/requests", {"category": "internet", "subject": "No link",
                                        "text": "Since noon",
                                        "files": (io.BytesIO(PNG), "router.png")})
    assert "Your request #" in sent.get_data(as_text=True)
    with runtime.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        attachment = s.scalars(select(TicketAttachment)).one()
        assert (ticket.account_id, ticket.opened_by) == (world.account.id, "subscriber:ivan")
    with runtime.session(actor="manager:olga") as s:
        helpdesk.comment(s, ticket.id, "Port 7 flaps", internal=True)
        helpdesk.comment(s, ticket.id, "Please restart the router")
    page = client.page(f"/my/requests/{ticket.id}")
    assert "Please restart the router" in page and "Port 7 flaps" not in page
    download = client.http.get(f"/my/requests/file/{attachment.id}")
    assert download.data == PNG and download.mimetype == "image/png"
    assert download.headers["Content-Disposition"] == "attachment; filename*=UTF-8''router.png"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    refused = client.post(f"/my/requests/{ticket.id}", {
        "text": "see", "files": (io.BytesIO(b"<html><script>x()</script>"), "photo.png")})
    assert "photo.png is text/html, which is not accepted" in refused.get_data(as_text=True)

    stranger = factory.account(login="petr")
    with runtime.session() as s:
        cabinet.set_password(s, stranger.id, "stranger pass 1")
    other = new_client()
    assert other.login("petr", "stranger pass 1").status_code == 302
    assert other.http.get(f"/my/requests/{ticket.id}").status_code == 404
    assert other.http.get(f"/my/requests/file/{attachment.id}").status_code == 404
    assert other.post(f"/my/requests/{ticket.id}", {"text": "me too"}).status_code == 404
    assert "No link" not in other.page("/my/requests")
    with runtime.session() as s:
        assert [c.text for c in helpdesk.get(s, ticket.id).comments] == [
            "Port 7 flaps", "Please restart the router"]


def test_the_public_form_wants_its_token_and_has_a_limit(new_client, runtime):
    visitor = new_client()
    form = {"name": "Petr Sidorov", "phone": "+7 900 111-22-33", "address": "Lenina 1"}
    assert visitor.http.post("/my/join", data=form).status_code == 400  # no CSRF token
    token = visitor.token("/my/join")
    sent = visitor.http.post("/my/join", data={**form, "csrf_token": token})
    assert "Thank you" in sent.get_data(as_text=True)
    again = visitor.http.post("/my/join", data={**form, "csrf_token": token})
    assert again.status_code == 429 and "too many requests" in again.get_data(as_text=True)
    with runtime.session() as s:
        assert [(t.kind, t.name, t.phone) for t in s.scalars(select(Ticket))] == [
            ("connection", "Petr Sidorov", "79001112233")]
