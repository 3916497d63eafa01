"""The search finds NAS accounts by IP and MAC through the hook abonent_search_accounts
(plugin_nas_oss.search): a whole IP or its beginning, a MAC however it is spelled or its
last hex digits; on PostgreSQL through the plugin's indexes; and the admin's top box
opens the one account found by a MAC or a surname."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from core import search
from core.models import Account
from plugin_nas_oss.search import account_ids


@pytest.fixture
def nas_accounts(nas):
    alice = nas.account("alice", fields={"ip": "10.0.3.15", "mac": "00:1A:2B:3C:4D:5E"},
                        contract=nas.factory.contract(
                            nas.factory.subscriber(name="Alice Kowalska")))
    nas.account("bob", fields={"ip": "10.0.30.7", "mac": "00-1a-2b-3c-99-5e"})
    nas.account("carol", fields={"ip": "10.1.3.15"})
    return alice


def found(runtime, term: str) -> list[str]:
    with runtime.session() as s:
        return sorted(s.scalars(select(Account.login).where(
            Account.id.in_(search.account_ids(s, term)))))


CASES = [
    ("10.0.3.15", ["alice"]),           # a whole IP: that one only
    ("10.0.3.", ["alice"]),             # a range
    ("10.0.3", ["alice", "bob"]),       # a beginning as typed (10.0.30.7 too)
    ("00:1a:2b:3c:4d:5e", ["alice"]),   # the MAC in each spelling
    ("00-1A-2B-3C-4D-5E", ["alice"]),
    ("001a.2b3c.4d5e", ["alice"]),
    ("001A2B3C4D5E", ["alice"]),
    ("4D:5E", ["alice"]),               # its last hex digits
    ("3c995e", ["bob"]),
    ("2b3c", []),                       # digits inside a MAC, not at its end
    ("10.0.%", []),                     # neither an IP nor a MAC
]


def test_ip_and_mac_through_the_search_hook(runtime, nas_accounts):
    assert {term: found(runtime, term) for term, _ in CASES} == dict(CASES)


@pytest.mark.postgresql_only
def test_ip_and_mac_are_served_by_the_plugins_indexes(runtime, nas_accounts):
    with runtime.session() as s:
        s.execute(text("SET LOCAL enable_seqscan = off"))
        for term, index in [("10.0.3.15", "ix_account_nas_ip"), ("10.0.3.", "ix_account_nas_ip"),
                            ("4d5e", "ix_account_nas_mac_trgm")]:
            query = account_ids(term).compile(s.bind, compile_kwargs={"literal_binds": True})
            plan = "\n".join(s.scalars(text(f"EXPLAIN {query}")))
            assert index in plan, (term, plan)


def test_the_top_box_opens_the_account_found_by_mac_or_surname(nas_accounts, admin_client):
    client = admin_client()
    for term in ("00-1a-2b-3c-4d-5e", "kowalska"):
        opened = client.get(f"/admin/search/?q={term}")
        assert opened.headers["Location"] == f"/admin/card/{nas_accounts.id}", term
