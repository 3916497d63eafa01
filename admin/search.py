"""The admin's side of the search (the top box and each list's search box): the request's
session and a term a manager typed in, handed to core.search; a term it cannot search for
(empty, too short…) becomes one message on the page and no rows, never a full scan."""
from __future__ import annotations

from flask import flash, g
from flask_babel import gettext as _
from sqlalchemy import Select, false, select

from admin.db import request_session
from admin.vocabulary import N_
from core import search
from core.errors import ValidationError
from core.models import Account, Contract, Subscriber
from core.search import CAP, newest

__all__ = ["CAP", "account_ids", "contract_ids", "newest", "subscriber_ids"]


#: core.search's reasons, marked for the catalogs; `_refused` translates them
REASONS = (N_("type a name, phone, contract number or login"),
           N_("must not contain control characters"), N_("type at least 3 characters"),
           N_("at most 100 characters"))


def _refused(error: ValidationError) -> None:
    """Says once per request why the term was not searched for."""
    if not g.get("search_refused"):
        g.search_refused = True
        flash(_("Search: %(reason)s.", reason=_(error.reason)), "error")


def _found(lookup, nothing, term: str, cap: int) -> Select:
    try:
        return lookup(request_session(), term, cap)
    except ValidationError as error:
        _refused(error)
        return select(nothing).where(false())


def account_ids(term: str, cap: int = CAP) -> Select:
    return _found(search.account_ids, Account.id, term, cap)


def contract_ids(term: str, cap: int = CAP) -> Select:
    return _found(search.contract_ids, Contract.id, term, cap)


def subscriber_ids(term: str, cap: int = CAP) -> Select:
    return _found(search.subscriber_ids, Subscriber.id, term, cap)
