"""A request sent again is the ticket it made (core.helpdesk.open_ticket): the same
category, subject and text by the same author for the same account within the window
while it is open; anything else is a new ticket, and two copies at once make one."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from core import helpdesk
from core.models import Ticket
from core.services import cabinet


def _open(runtime, account, text="Since noon", actor=None):
    with runtime.session(actor=actor or cabinet.actor(account.login)) as s:
        return helpdesk.open_ticket(s, account.id, "internet", "No link", text).id


@pytest.mark.sqlite_only
def test_the_same_request_again_is_the_first_ticket(runtime, factory, clock):
    account = factory.account(login="anna")
    first = _open(runtime, account)
    assert _open(runtime, account) == first
    assert _open(runtime, account, text="Since noon, again") != first
    assert _open(runtime, account, actor="manager:olga") != first
    clock.advance(helpdesk.REPEAT_WINDOW)
    later = _open(runtime, account)
    assert later != first
    with runtime.session(actor="manager:olga") as s:
        helpdesk.change_status(s, later, "closed")
    assert _open(runtime, account) not in (first, later)


@pytest.mark.postgresql_only
def test_two_copies_at_once_make_one_ticket(runtime, factory):
    account = factory.account(login="anna")
    start = threading.Barrier(2)
    opened = []

    def send():
        start.wait()
        opened.append(_open(runtime, account))
    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with runtime.session() as s:
        assert s.scalar(select(func.count(Ticket.id))) == 1
    assert len(set(opened)) == 1
