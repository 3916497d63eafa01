"""Finding subscribers, contracts and accounts by what an operator has at hand: a word or
a fragment of the name, a fragment of the contract number, a phone in any form (with 8 or
+7 in front, without the country code, or only its last digits), a login's beginning, an
account's ext_id, and whatever plugins search (`abonent_search_accounts`: a NAS account's
IP or MAC).

Each way is one branch of a single UNION, and each branch is served by an index: the
fragments by trigram GIN indexes on PostgreSQL (pg_trgm, migration 0008; a LIKE
'%fragment%' reads the few rows whose trigrams match), the login by its btree (a prefix
match under the cluster's C collation). Each branch first keeps the newest `cap` matches
in its own table (ORDER BY id DESC LIMIT cap) and only then follows them to the ids
wanted (a subscriber's contracts and accounts…): a term in an eighth of a million names
("Petrov") then costs a backward walk of the subscribers' primary key until `cap` match
(10 ms), where joining every account to its subscriber first walked the accounts and
looked up two rows for each (120 ms).

A term is checked first (`checked`): empty, shorter than `MIN_LENGTH` (a fragment of
two characters has no trigram to look up, so it would read every row), longer than
`MAX_LENGTH`, or holding control characters is refused with a ValidationError naming
the field "search".
"""
from __future__ import annotations

import re
from typing import Callable

from sqlalchemy import Select, Text, cast, or_, select, union
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from core.errors import ValidationError
from core.models import Account, Contract, Phone, Subscriber
from core.runtime import runtime_of

FIELD = "search"
MIN_LENGTH = 3
MAX_LENGTH = 100
#: a search lists at most this many matches, the newest first
CAP = 1000
_PHONE = re.compile(r"[\d\s()+\-.]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def checked(term: str | None) -> str:
    """The term stripped, or a ValidationError saying why it cannot be searched for."""
    term = (term or "").strip()
    if not term:
        raise ValidationError(FIELD, "type a name, phone, contract number or login")
    if _CONTROL.search(term):
        raise ValidationError(FIELD, "must not contain control characters")
    if len(term) < MIN_LENGTH:
        raise ValidationError(FIELD, f"type at least {MIN_LENGTH} characters")
    if len(term) > MAX_LENGTH:
        raise ValidationError(FIELD, f"at most {MAX_LENGTH} characters")
    return term


def like_fragment(fragment: str) -> str:
    """`fragment` with LIKE's wildcards and the escape character escaped (by a backslash:
    pass escape="\\\\"), so a typed "%" or "_" matches itself."""
    return re.sub(r"([\\%_])", r"\\\1", fragment)


def _contains(column, fragments: set[str]) -> ColumnElement:
    """`column` holds one of `fragments`, case-insensitively for Latin letters. The column
    is cast to TEXT, the expression the trigram indexes are built on."""
    text = cast(column, Text)
    return or_(*[text.ilike(f"%{like_fragment(f)}%", escape="\\") for f in sorted(fragments)])


def _spellings(term: str) -> set[str]:
    """The term as typed, and for a term with other than Latin letters also in lower case
    and capitalised: ILIKE folds the case of Latin letters only under the C collation,
    so "петров" must also be tried as "Петров"."""
    if term.isascii():
        return {term}
    return {term, term.lower(), term[:1].upper() + term[1:].lower()}


def phone_digits(term: str) -> set[str]:
    """The digit strings a phone-like term stands for: its digits, and for a number typed
    with the trunk prefix 8 ("8 916 123…") the same with 7, as the numbers are kept
    ("7916123…"). Empty for a term that is not a phone or has fewer than MIN_LENGTH
    digits."""
    if not _PHONE.fullmatch(term):
        return set()
    digits = re.sub(r"\D", "", term)
    if len(digits) < MIN_LENGTH:
        return set()
    return {digits, "7" + digits[1:]} if digits.startswith("8") else {digits}


# --- where each kind of match is found, and how it leads to each kind of id --------------

def conditions(term: str) -> dict[type, ColumnElement]:
    """Condition on each table that a match of `term` is in."""
    found: dict[type, ColumnElement] = {
        Subscriber: _contains(Subscriber.name, _spellings(term)),
        Contract: _contains(Contract.number, {term}),
        Account: or_(Account.login.like(like_fragment(term) + "%", escape="\\"),
                     Account.ext_id == term),
    }
    digits = phone_digits(term)
    if digits:
        found[Phone] = _contains(Phone.number, digits)
    return found


#: the id a match in each table stands for: a phone stands for its subscriber
_KEYS = {Subscriber: Subscriber.id, Phone: Phone.subscriber_id, Contract: Contract.id,
         Account: Account.id}
_LEVEL = {Subscriber: "subscriber", Phone: "subscriber", Contract: "contract",
          Account: "account"}
#: (ids found at a level, the kind of ids wanted) -> a SELECT of the wanted ids
_FOLLOW: dict[tuple[str, str], Callable[[Select], Select]] = {
    ("subscriber", "subscriber"): lambda ids: ids,
    ("subscriber", "contract"): lambda ids: select(Contract.id).where(
        Contract.subscriber_id.in_(ids)),
    ("subscriber", "account"): lambda ids: select(Account.id).join(
        Contract, Contract.id == Account.contract_id).where(Contract.subscriber_id.in_(ids)),
    ("contract", "subscriber"): lambda ids: select(Contract.subscriber_id).where(
        Contract.id.in_(ids)),
    ("contract", "contract"): lambda ids: ids,
    ("contract", "account"): lambda ids: select(Account.id).where(
        Account.contract_id.in_(ids)),
    ("account", "subscriber"): lambda ids: select(Contract.subscriber_id).join(
        Account, Account.contract_id == Contract.id).where(Account.id.in_(ids)),
    ("account", "contract"): lambda ids: select(Account.contract_id).where(
        Account.id.in_(ids)),
    ("account", "account"): lambda ids: ids,
}


def _plugin_accounts(session: Session, term: str) -> list:
    """What the plugins' `abonent_search_accounts` return for the term (not run yet)."""
    hook = runtime_of(session).hook.abonent_search_accounts
    return [found for found in hook(session=session, term=term) if found is not None]


def _newest(query: Select, cap: int) -> Select:
    """The newest `cap` ids of a SELECT of ids, as a SELECT a UNION can take (SQLite
    wants the ORDER BY … LIMIT of a member inside a subquery)."""
    column = query.selected_columns[0]
    return select(query.order_by(column.desc()).limit(cap).subquery().c[0])


def _ids(session: Session, kind: str, term: str, cap: int) -> Select:
    term = checked(term)
    found = [(_LEVEL[table], _newest(select(_KEYS[table]).where(condition), cap))
             for table, condition in conditions(term).items()]
    found += [("account", _newest(accounts, cap))
              for accounts in _plugin_accounts(session, term)]
    return union(*[_FOLLOW[level, kind](ids) for level, ids in found])


def account_ids(session: Session, term: str, cap: int = CAP) -> Select:
    """A SELECT of the ids of accounts the term finds (its own, its contract's, its
    subscriber's or a plugin's match); ValidationError for a term it cannot search."""
    return _ids(session, "account", term, cap)


def contract_ids(session: Session, term: str, cap: int = CAP) -> Select:
    """A SELECT of the ids of contracts the term finds (see account_ids)."""
    return _ids(session, "contract", term, cap)


def subscriber_ids(session: Session, term: str, cap: int = CAP) -> Select:
    """A SELECT of the ids of subscribers the term finds (see account_ids)."""
    return _ids(session, "subscriber", term, cap)


def newest(session: Session, ids: Select, cap: int = CAP) -> list[int]:
    """The newest `cap` ids a search found, fetched on their own. Handed to a page's
    query as constants they make it fetch its rows by primary key; given as a subquery,
    PostgreSQL cannot tell it yields a handful of rows and may walk the whole big table
    in id order looking for them."""
    found = ids.subquery()
    return list(session.scalars(select(found.c[0]).order_by(found.c[0].desc()).limit(cap)))
