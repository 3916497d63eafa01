"""`from core import …` is the whole API a plugin uses: every name listed resolves, the
plugins shipped here import nothing from the core's submodules, and what plugins were
taking from submodules (blocks, state values, their own links) is there."""
from __future__ import annotations

import ast
from decimal import Decimal

import core
from core import (AccountState, Block, lift_block, links_of, record_payment, set_block,
                  set_link)
from support import ROOT


def test_every_exported_name_resolves_once():
    assert len(core.__all__) == len(set(core.__all__))
    missing = [name for name in core.__all__ if not hasattr(core, name)]
    assert missing == []


def test_exports_are_in_commented_groups_each_sorted():
    """`__all__` is read by plugin authors: every group says what it is for (a comment)
    and lists its names in order."""
    source = (ROOT / "core" / "__init__.py").read_text()
    body = source[source.index("__all__ = [") + len("__all__ = ["):]
    body = body[:body.index("\n]")]
    groups: list[list[str]] = []
    for line in body.splitlines():
        if line.strip().startswith("#"):
            if not groups or groups[-1]:  # a comment may run over several lines
                groups.append([])
        elif line.strip():
            assert groups, "names before the first group's comment"
            groups[-1] += ast.literal_eval(f"[{line}]")
    assert all(groups) and sum(groups, []) == core.__all__
    for group in groups:
        assert group == sorted(group), f"not sorted: {group}"


def test_shipped_plugins_import_only_from_core():
    offenders = []
    for path in sorted(ROOT.glob("plugin_*/plugin_*/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("core."):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module}")
            if isinstance(node, ast.Import):
                offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {alias.name}"
                              for alias in node.names if alias.name.startswith("core.")]
    assert offenders == []


def test_state_values_are_the_block_sources_the_database_allows():
    check = next(c for c in Block.__table__.constraints
                 if str(getattr(c, "sqltext", "")).startswith("source IN"))
    allowed = {part.strip(" '") for part in str(check.sqltext).split("(")[1].rstrip(")")
               .split(",")}
    assert set(AccountState.BLOCK_SOURCES) == allowed
    assert AccountState.ALL == ("active", "disabled", "admin", "balance", "voluntary")


def test_blocks_and_payments_through_core_with_their_state(runtime, factory):
    account = factory.account()
    with runtime.session(actor="test") as s:
        set_block(s, account.id, AccountState.ADMIN)
        set_block(s, account.id, AccountState.VOLUNTARY)
        assert core.account_state(s, account.id) == AccountState.ADMIN
        lift_block(s, account.id, AccountState.ADMIN)
        assert core.account_state(s, account.id) == AccountState.VOLUNTARY
        payment = record_payment(s, account.contract_id, "150.00", source="test").payment
        assert payment.amount == Decimal("150.00")


def test_links_of_lists_one_plugin_kind_by_our_id(session):
    for local_id, external in ((7, "u7"), (3, "u3")):
        set_link(session, "sms", "user", local_id, external)
    set_link(session, "sms", "box", 5, "b5")
    set_link(session, "other", "user", 1, "x1")
    assert [(link.local_id, link.external_id) for link in links_of(session, "sms", "user")
            ] == [(3, "u3"), (7, "u7")]
