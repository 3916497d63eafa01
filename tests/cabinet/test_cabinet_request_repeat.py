"""The cabinet's "new request" form sent twice (a double click, a browser re-sending it)
lands both times on the one ticket it made."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import Ticket

pytestmark = pytest.mark.sqlite_only


def test_the_form_sent_twice_lands_on_one_ticket(client, runtime):
    form = {"category": "internet", "subject": "No link", "text": "Since noon",
            "csrf_token": client.token("/my/requests")}
    landed = [client.http.post("/my/requests", data=form).headers["Location"]
              for _ in range(2)]
    with runtime.session() as s:
        ticket_id = s.scalars(select(Ticket.id)).one()
    assert landed == [f"/my/requests/{ticket_id}"] * 2
