"""HelpDesk: subscribers' requests (tickets) and connection requests from prospects.

Everything the managers' pages, the cabinet and the public form do to a ticket goes
through here, in the caller's transaction, with the session's actor ("manager:ivan",
"subscriber:79001234567", "prospect:<address>") as author, in the audit log and in the
ticket's history. The rules:

- Status: new → in work / waiting for the subscriber / closed; in work ⇄ waiting;
  either → closed; closed → in work (reopened). Nothing goes back to "new"; asking for
  the status a ticket has already changes nothing (a repeated click is harmless).
- A manager's visible answer to a new ticket takes it into work; a subscriber's answer
  to a ticket waiting for them puts it back in work; a closed ticket takes no answer
  from the subscriber (they open a new one).
- A subscriber sees only the tickets of their own contract, and never internal
  comments or the files attached to them.
- Attachments: at most MAX_FILES a comment, each at most `[helpdesk] max_attachment_kb`,
  of a type in `[helpdesk] allowed_types` as read from the bytes (core.sniff), not as
  the upload claimed; a refused file is named in the error, and nothing is written.
- E-mail (core.queue_mail, through the outbox): the subscriber is told of a manager's
  visible answer and of a change of status; the assignee of a subscriber's answer. A
  notice that cannot be sent (no address, mail not configured) is left out and logged;
  it never refuses the change itself.
- Opening is idempotent per request: the same category, subject and text sent again for
  the same account by the same author within REPEAT_WINDOW, while the first is not
  closed, is that first ticket (a double click, a browser sending the form again after a
  slow answer or from its history) — the form lands on it instead of making a second.
  The account's row is locked first, so two copies arriving at once make one ticket.
- A connection request comes from a public form: at most `[helpdesk] requests_per_hour`
  from one client address; a manager turns it into a subscriber, which closes it.
"""
from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import audit
from core.clock import now
from core.errors import NotFound, ValidationError
from core.mail import queue_mail
from core.models import (Account, Manager, Subscriber, Ticket, TicketAttachment, TicketComment,
                         TicketHistory)
from core.models.helpdesk import TICKET_STATUSES
from core.runtime import actor_of, runtime_of
from core.services import inputs
from core.services.customers import create_subscriber
from core.sniff import sniff

log = logging.getLogger("abonent.helpdesk")

CONNECTION = "connection"
MAX_FILES = 5
MAX_TEXT = 10_000
FLOW = {"new": ("in_work", "waiting", "closed"), "in_work": ("waiting", "closed"),
        "waiting": ("in_work", "closed"), "closed": ("in_work",)}
STATUS_WORDS = {"new": "new", "in_work": "in work", "waiting": "waiting for your answer",
                "closed": "closed"}
QUEUE_LIMIT = 200
REPEAT_WINDOW = timedelta(hours=1)


class TooManyRequests(ValidationError):
    """The public form's limit per client address is reached."""

    code = "rate_limited"


def _settings(session: Session) -> dict[str, Any]:
    return runtime_of(session).settings.section("helpdesk")


def categories(session: Session) -> list[str]:
    """The categories a request may be filed under (`[helpdesk] categories`)."""
    return [str(c) for c in _settings(session)["categories"]]


# --- files ---------------------------------------------------------------------------

def _filename(raw: Any) -> str:
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", str(raw or "").rsplit("/", 1)[-1]).strip()
    return (name or "file")[-200:]


def check_files(session: Session, files: Iterable[tuple[Any, bytes]]
                ) -> list[tuple[str, str, bytes]]:
    """(filename, sniffed type, bytes) of each (filename, bytes) given, or the refusal
    naming "attachment" and the file."""
    files = [f for f in files if f[1]]  # an empty input of a form is no file
    if len(files) > MAX_FILES:
        raise ValidationError("attachment", f"at most {MAX_FILES} files at once")
    config = _settings(session)
    limit = config["max_attachment_kb"] * 1024
    allowed = {str(t).lower() for t in config["allowed_types"]}
    checked = []
    for raw_name, data in files:
        name = _filename(raw_name)
        if len(data) > limit:
            raise ValidationError("attachment", f"{name} is larger than "
                                                f"{config['max_attachment_kb']} KiB")
        kind = sniff(data)
        if kind not in allowed:
            raise ValidationError("attachment", f"{name} is {kind}, which is not accepted "
                                                f"(accepted: {', '.join(sorted(allowed))})")
        checked.append((name, kind, data))
    return checked


def _attach(session: Session, ticket: Ticket, files, comment: TicketComment | None) -> None:
    for name, kind, data in files:
        session.add(TicketAttachment(
            ticket_id=ticket.id, comment_id=comment and comment.id, filename=name,
            content_type=kind, size=len(data), data=data,
            internal=bool(comment and comment.internal), uploaded_by=actor_of(session)))


# --- opening -------------------------------------------------------------------------

def _category(session: Session, value: Any) -> str:
    category = inputs.text(value, "category", max_len=50)
    if category not in categories(session):
        raise ValidationError("category", f"must be one of {', '.join(categories(session))}")
    return category


def open_ticket(session: Session, account_id: Any, category: Any, subject: Any, text: Any,
                files: Iterable[tuple[Any, bytes]] = ()) -> Ticket:
    """A request about an account (from the cabinet, or a manager on the account card);
    the same request sent again is the ticket it made (see the module's rules)."""
    account = inputs.fetch(session, Account, account_id, "account_id", lock=True)
    values = {"category": _category(session, category),
              "subject": inputs.text(subject, "subject", max_len=200),
              "text": inputs.text(text, "text", max_len=MAX_TEXT)}
    checked = check_files(session, files)
    repeated = session.scalars(select(Ticket).where(
        Ticket.contract_id == account.contract_id, Ticket.account_id == account.id,
        Ticket.kind == "request", Ticket.status != "closed",
        Ticket.opened_by == actor_of(session), Ticket.created_at >= now() - REPEAT_WINDOW,
        *(getattr(Ticket, k) == v for k, v in values.items()))
        .order_by(Ticket.id.desc()).limit(1)).first()
    if repeated is not None:
        return repeated
    ticket = Ticket(kind="request", account_id=account.id, contract_id=account.contract_id,
                    subscriber_id=account.contract.subscriber_id, opened_by=actor_of(session),
                    **values)
    session.add(ticket)
    session.flush()
    _attach(session, ticket, checked, None)
    audit(session, "open", "ticket", ticket.id,
          {**values, "account_id": account.id, "files": [f[0] for f in checked]})
    return ticket


def open_connection_request(session: Session, *, name: Any, phone: Any, address: Any,
                            email: Any = None, text: Any = None,
                            source_address: str | None = None) -> Ticket:
    """A prospect's request to be connected (the public form), at most
    `[helpdesk] requests_per_hour` from one client address."""
    source = (source_address or "unknown")[:100]
    since = now() - timedelta(hours=1)
    sent = session.scalar(select(func.count(Ticket.id)).where(
        Ticket.kind == CONNECTION, Ticket.source_address == source,
        Ticket.created_at >= since))
    if sent >= _settings(session)["requests_per_hour"]:
        raise TooManyRequests("requests", "too many requests from your address; try again "
                                          "in an hour or call us")
    values = {"name": inputs.text(name, "name", max_len=300),
              "phone": inputs.phone(phone, "phone"),
              "address": inputs.text(address, "address", max_len=500),
              "email": inputs.text(email, "email", required=False, max_len=200,
                                   pattern=r"[^@\s]+@[^@\s]+\.[^@\s]+",
                                   what="is not an e-mail address")}
    comment = inputs.text(text, "text", required=False, max_len=MAX_TEXT)
    ticket = Ticket(kind=CONNECTION, category=CONNECTION, source_address=source,
                    subject=f"Connection: {values['address']}"[:200],
                    text=comment or "", opened_by=actor_of(session), **values)
    session.add(ticket)
    session.flush()
    audit(session, "open", "ticket", ticket.id, {**values, "kind": CONNECTION})
    return ticket


# --- reading -------------------------------------------------------------------------

def get(session: Session, ticket_id: Any, *, lock: bool = False) -> Ticket:
    return inputs.fetch(session, Ticket, ticket_id, "ticket_id", lock=lock)


def ticket_of(session: Session, account: Account, ticket_id: Any) -> Ticket:
    """A ticket of the account's contract; another's is "not found", like one that is not."""
    ticket = session.get(Ticket, inputs.integer(ticket_id, "ticket_id", high=inputs.MAX_KEY))
    if ticket is None or ticket.contract_id != account.contract_id:
        raise NotFound("ticket_id", "no such request")
    return ticket


def tickets_of(session: Session, account: Account) -> list[Ticket]:
    return list(session.scalars(select(Ticket).where(
        Ticket.contract_id == account.contract_id).order_by(Ticket.id.desc())
        .limit(QUEUE_LIMIT)))


def thread(ticket: Ticket, *, internal: bool) -> list[TicketComment]:
    """The comments a reader sees: a subscriber (`internal=False`) never sees internal ones."""
    return [c for c in ticket.comments if internal or not c.internal]


def files(ticket: Ticket, *, internal: bool) -> list[TicketAttachment]:
    return [a for a in ticket.attachments if internal or not a.internal]


def history(session: Session, ticket_id: int) -> list[TicketHistory]:
    return list(session.scalars(select(TicketHistory).where(
        TicketHistory.ticket_id == ticket_id).order_by(TicketHistory.id)))


def find(session: Session, *, status: Any = None, category: Any = None,
         assignee_id: int | None = None, open_only: bool = False) -> list[Ticket]:
    """A managers' queue: the newest tickets, filtered; `status` must be a known one."""
    query = select(Ticket).order_by(Ticket.id.desc()).limit(QUEUE_LIMIT)
    if status:
        if status not in TICKET_STATUSES:
            raise ValidationError("status", f"must be one of {', '.join(TICKET_STATUSES)}")
        query = query.where(Ticket.status == status)
    if open_only:
        query = query.where(Ticket.status != "closed")
    if category:
        query = query.where(Ticket.category == str(category)[:50])
    if assignee_id is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    return list(session.scalars(query))


# --- changes -------------------------------------------------------------------------

def _record(session: Session, ticket: Ticket, field: str, old: Any, new: Any) -> None:
    session.add(TicketHistory(ticket_id=ticket.id, actor=actor_of(session), field=field,
                              old=None if old is None else str(old),
                              new=None if new is None else str(new)))
    ticket.updated_at = now()
    audit(session, field, "ticket", ticket.id, {field: {"old": old, "new": new}})


def _move(session: Session, ticket: Ticket, status: str) -> bool:
    if status == ticket.status:
        return False
    if status not in FLOW.get(ticket.status, ()):
        raise ValidationError("status", f"a {ticket.status} request cannot become {status}")
    old, ticket.status = ticket.status, status
    _record(session, ticket, "status", old, status)
    return True


def change_status(session: Session, ticket_id: Any, status: Any) -> Ticket:
    """A manager moves the ticket along FLOW; the subscriber is told."""
    ticket = get(session, ticket_id, lock=True)
    status = inputs.text(status, "status", max_len=20)
    if status not in TICKET_STATUSES:
        raise ValidationError("status", f"must be one of {', '.join(TICKET_STATUSES)}")
    if _move(session, ticket, status):
        _tell_subscriber(session, ticket, f"Your request #{ticket.id} is "
                                          f"{STATUS_WORDS[status]}",
                         f"Your request #{ticket.id} \"{ticket.subject}\" is now "
                         f"{STATUS_WORDS[status]}.")
    return ticket


def assign(session: Session, ticket_id: Any, manager_id: Any) -> Ticket:
    """Give the ticket to an active manager (None: to nobody)."""
    ticket = get(session, ticket_id, lock=True)
    manager = None
    if manager_id not in (None, ""):
        manager = inputs.fetch(session, Manager, manager_id, "assignee_id")
        if not manager.active:
            raise ValidationError("assignee_id", f"{manager.login} is not an active manager")
    new_id = manager and manager.id
    if new_id != ticket.assignee_id:
        old = ticket.assignee_id and session.get(Manager, ticket.assignee_id).login
        ticket.assignee_id = new_id
        _record(session, ticket, "assignee", old, manager and manager.login)
    return ticket


def comment(session: Session, ticket_id: Any, text: Any, *, internal: bool = False,
            files: Iterable[tuple[Any, bytes]] = (), account: Account | None = None
            ) -> TicketComment:
    """An answer in the thread: a manager's (visible or `internal`), or — with `account` —
    the subscriber's own, on a ticket of their contract."""
    if account is not None:
        ticket = ticket_of(session, account, ticket_id)
        if internal:
            raise ValidationError("internal", "a subscriber's answer is never internal")
        if ticket.status == "closed":
            raise ValidationError("status", "the request is closed; open a new one")
    else:
        ticket = get(session, ticket_id, lock=True)
    body = inputs.text(text, "text", max_len=MAX_TEXT)
    checked = check_files(session, files)
    note = TicketComment(ticket_id=ticket.id, author=actor_of(session), internal=bool(internal),
                         text=body)
    session.add(note)
    session.flush()
    _attach(session, ticket, checked, note)
    ticket.updated_at = now()
    audit(session, "comment", "ticket", ticket.id, {"internal": bool(internal),
                                                    "files": [f[0] for f in checked]})
    if account is not None:
        if ticket.status == "waiting":
            _move(session, ticket, "in_work")
        _tell_assignee(session, ticket, body)
    elif not internal:
        if ticket.status == "new":
            _move(session, ticket, "in_work")
        _tell_subscriber(session, ticket, f"An answer to your request #{ticket.id}",
                         f"{body}\n\n-- your request #{ticket.id} \"{ticket.subject}\"")
    session.expire(ticket, ["comments", "attachments"])
    return note


def _notify(session: Session, ticket: Ticket, subject: str, body: str, to: str | None) -> None:
    """Queue a notice in a savepoint; one that cannot be sent is logged and left out."""
    try:
        with session.begin_nested():
            queue_mail(session, ticket.contract_id, subject, body, to=to)
    except ValidationError as exc:
        log.info("no notice of ticket %s: %s", ticket.id, exc)


def _tell_subscriber(session: Session, ticket: Ticket, subject: str, body: str) -> None:
    if ticket.contract_id is not None:
        _notify(session, ticket, subject, body, None)


def _tell_assignee(session: Session, ticket: Ticket, body: str) -> None:
    manager = ticket.assignee_id and session.get(Manager, ticket.assignee_id)
    if manager and manager.email:
        _notify(session, ticket, f"The subscriber answered in request #{ticket.id}",
                f"{body}\n\n-- request #{ticket.id} \"{ticket.subject}\"", manager.email)


# --- connection requests -------------------------------------------------------------

def prospect(ticket: Ticket) -> dict[str, Any]:
    """The subscriber form's values a connection request fills in."""
    return {"name": ticket.name, "phones": [ticket.phone] if ticket.phone else [],
            "email": ticket.email, "addresses": [ticket.address] if ticket.address else []}


def convert(session: Session, ticket_id: Any, **subscriber: Any) -> Subscriber:
    """Turn a connection request into a subscriber (core.services.customers'
    create_subscriber with the values given), and close the request."""
    ticket = get(session, ticket_id, lock=True)
    if ticket.kind != CONNECTION:
        raise ValidationError("ticket_id", "is not a connection request")
    if ticket.subscriber_id is not None:
        raise ValidationError("ticket_id", f"is already subscriber {ticket.subscriber_id}")
    created = create_subscriber(session, **subscriber)
    ticket.subscriber_id = created.id
    if ticket.status != "closed":
        _move(session, ticket, "closed")
    audit(session, "convert", "ticket", ticket.id, {"subscriber_id": created.id})
    return created
