"""core.search: each way of finding people finds what it should and nothing more, on both
databases (PostgreSQL's ILIKE and trigram indexes, SQLite's LIKE); wildcards typed are
taken literally; a term it cannot search for is refused with the reason; and on
PostgreSQL every kind is served by its index."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from core import ValidationError, search
from core.models import Account, Contract, Phone, Subscriber

PEOPLE = (  # name, phone, contract number, login
    ("Ivan Petrov", "+7 916 123-45-67", "2026-00042", "ivan"),
    ("Maria Petrovskaya", "+7 900 555-00-00", "2026-00420", "maria"),
    ("Пётр Сидоров", "+7 912 000-11-22", "2026-01000", "petr"),
    ("Discount 50% Ltd", "+7 495 111-22-33", "B_2026", "b_50"),
    ("Discount 500 Ltd", "+7 495 444-55-66", "BX2026", "bx500"),
)


@pytest.fixture
def people(factory):
    for name, phone, number, login in PEOPLE:
        subscriber = factory.subscriber(name=name, phones=[phone])
        factory.account(contract=factory.contract(subscriber, number=number), login=login)


def found(runtime, term: str) -> list[str]:
    """Logins of the accounts found, and the same through contracts and subscribers."""
    with runtime.session() as s:
        accounts = s.scalars(select(Account.login).where(
            Account.id.in_(search.account_ids(s, term)))).all()
        by_contract = s.scalars(select(Account.login).join(Contract).where(
            Contract.id.in_(search.contract_ids(s, term)))).all()
        by_subscriber = s.scalars(select(Account.login).join(Contract).join(Subscriber).where(
            Subscriber.id.in_(search.subscriber_ids(s, term)))).all()
    assert sorted(accounts) == sorted(by_contract) == sorted(by_subscriber), term
    return sorted(accounts)


CASES = [
    ("Petrov", ["ivan", "maria"]),          # a word inside the name, and its start
    ("petrovsk", ["maria"]),                # any case
    ("van Pet", ["ivan"]),                  # a fragment across words
    ("сидоров", ["petr"]),                  # Cyrillic typed in lower case
    ("0042", ["ivan", "maria"]),            # contract number fragments
    ("2026-00042", ["ivan"]),
    ("8 916 123", ["ivan"]),                # the trunk prefix 8 for +7
    ("+7 (916) 123-45", ["ivan"]),
    ("916123", ["ivan"]),                   # without the country code
    ("4567", ["ivan"]),                     # the last digits
    ("50%", ["b_50"]),                      # % typed is a percent sign, not "anything"
    ("b_5", ["b_50"]),                      # _ typed is an underscore (login prefix)
    ("B_2", ["b_50"]),                      # … and in a contract number
    ("mar", ["maria"]),                     # a login's beginning
    ("nobody", []),
]


def test_each_kind_finds_what_it_should_and_no_more(runtime, people):
    assert {term: found(runtime, term) for term, _ in CASES} == dict(CASES)


@pytest.mark.parametrize("term, reason", [
    ("", "type a name, phone, contract number or login"),
    ("  ", "type a name, phone, contract number or login"),
    ("ab", "type at least 3 characters"),
    ("%", "type at least 3 characters"),
    ("ab\x00cd", "must not contain control characters"),
    ("x" * 101, "at most 100 characters"),
])
def test_a_term_it_cannot_search_for_is_refused_with_the_reason(runtime, term, reason):
    with runtime.session() as s, pytest.raises(ValidationError) as refused:
        search.account_ids(s, term)
    assert (refused.value.field, refused.value.reason) == ("search", reason)


@pytest.mark.postgresql_only
def test_every_kind_is_served_by_its_index(runtime, people):
    """With sequential scans priced out, the plan of each table's condition names its
    index: the expressions core.search compares are the ones the indexes hold."""
    expected = {Subscriber: "ix_subscriber_name_trgm", Contract: "ix_contract_number_trgm",
                Phone: "ix_phone_number_trgm", Account: "ix_account_login"}
    with runtime.session() as s:
        s.execute(text("SET LOCAL enable_seqscan = off"))
        for table, condition in search.conditions("4567").items():
            query = select(table).where(condition).compile(
                s.bind, compile_kwargs={"literal_binds": True})
            plan = "\n".join(s.scalars(text(f"EXPLAIN {query}")))
            assert expected[table] in plan, plan
