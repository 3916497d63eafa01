"""Looking someone up by what an operator has at hand: phone, login, contract number, name.

Each way is a prefix match on a column with a btree index (`LIKE 'term%'`, which an
index serves under the C collation the PostgreSQL cluster uses), combined with UNION,
so a lookup in a million accounts reads a few index pages instead of the tables. Names
match from their beginning, as typed or with a capital first letter ("ivan" finds
"Ivan Petrov"); phones match on digits, whatever separators were typed.
"""
from __future__ import annotations

import re

from sqlalchemy import Select, or_, select, union
from sqlalchemy.orm import Session

from core.models import Account, Contract, Phone, Subscriber

MIN_PHONE_DIGITS = 3
#: a lookup lists at most this many matches, the newest first
CAP = 1000


def _prefix(column, term: str):
    return column.startswith(term, autoescape=True)


def _name_matches(term: str):
    variants = {term, term[:1].upper() + term[1:]}
    return or_(*[_prefix(Subscriber.name, v) for v in sorted(variants)])


def phone_digits(term: str) -> str | None:
    """The digits of a term that looks like a phone ("+7 900 123-45" → "790012345")."""
    if not re.fullmatch(r"[\d\s()+\-.]+", term):
        return None
    digits = re.sub(r"\D", "", term)
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


def subscriber_ids(term: str) -> Select:
    term = term.strip()
    parts = [
        select(Subscriber.id).where(_name_matches(term)),
        select(Contract.subscriber_id).where(_prefix(Contract.number, term)),
        select(Contract.subscriber_id).join(Account, Account.contract_id == Contract.id)
        .where(_prefix(Account.login, term)),
    ]
    digits = phone_digits(term)
    if digits:
        parts.append(select(Phone.subscriber_id).where(_prefix(Phone.number, digits)))
    return union(*parts)


def contract_ids(term: str) -> Select:
    term = term.strip()
    parts = [
        select(Contract.id).where(_prefix(Contract.number, term)),
        select(Account.contract_id).where(_prefix(Account.login, term)),
        select(Contract.id).join(Subscriber, Subscriber.id == Contract.subscriber_id)
        .where(_name_matches(term)),
    ]
    digits = phone_digits(term)
    if digits:
        parts.append(select(Contract.id).join(Phone, Phone.subscriber_id == Contract.subscriber_id)
                     .where(_prefix(Phone.number, digits)))
    return union(*parts)


def account_ids(term: str) -> Select:
    term = term.strip()
    parts = [
        select(Account.id).where(_prefix(Account.login, term)),
        select(Account.id).where(Account.ext_id == term),
        select(Account.id).join(Contract, Contract.id == Account.contract_id)
        .where(_prefix(Contract.number, term)),
        select(Account.id).join(Contract, Contract.id == Account.contract_id)
        .join(Subscriber, Subscriber.id == Contract.subscriber_id).where(_name_matches(term)),
    ]
    digits = phone_digits(term)
    if digits:
        parts.append(select(Account.id).join(Contract, Contract.id == Account.contract_id)
                     .join(Phone, Phone.subscriber_id == Contract.subscriber_id)
                     .where(_prefix(Phone.number, digits)))
    return union(*parts)


def newest(session: Session, ids: Select, cap: int = CAP) -> list[int]:
    """The newest `cap` ids a lookup found, fetched on their own. Handed to the page's
    query as constants they make it fetch its rows by primary key; given as a subquery,
    PostgreSQL cannot tell it yields a handful of rows and may walk the whole big table
    in id order looking for them."""
    found = ids.subquery()
    return list(session.scalars(select(found.c[0]).order_by(found.c[0].desc()).limit(cap)))
