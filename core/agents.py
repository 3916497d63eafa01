"""Agent types: what a plugin declares about the accounts and agents it serves.

An agent type names the settings an agent of that type needs (API URL, token…) and the
extra fields its accounts carry (tv24_username, ext_id…), each a `Field`, plus an
optional rule over the whole account (e.g. "the login or tv24_username must be a phone").
Rules that belong to a platform live here, in its plugin, never in the core.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from core.fields import Field, clean_fields

#: Account fields that are columns of `account` rather than entries of `account.fields`.
COLUMN_FIELDS = ("ext_id",)


@dataclass(frozen=True)
class AccountDraft:
    """An account as it will be saved, handed to an agent type's `check_account` rule."""

    login: str
    fields: dict[str, Any]
    ext_id: str | None
    agent_settings: dict[str, Any]
    tariff_id: int | None = None


@dataclass(frozen=True)
class AgentType:
    """Declared by a plugin through `abonent_agent_types`; `plugin` is filled in by the host."""

    code: str
    title: str
    settings: tuple[Field, ...] = ()
    account_fields: tuple[Field, ...] = ()
    check_account: Callable[[AccountDraft], None] | None = None
    plugin: str = field(default="", compare=False)

    def clean_settings(self, data: dict | None) -> dict[str, Any]:
        """Validate an agent's settings; errors name `settings.<key>`."""
        return clean_fields(self.settings, data, prefix="settings.")

    def clean_account(self, login: str, data: dict | None, agent_settings: dict,
                      tariff_id: int | None = None) -> tuple[dict[str, Any], str | None]:
        """Validate an account's extra fields; returns (fields, ext_id).

        Errors name `fields.<key>` (or `ext_id`, or `login` when the agent type's rule
        is about the login), so the form can put the message next to the right input.
        """
        data = dict(data or {})
        declared = {f.name for f in self.account_fields}
        column_values = {}
        for name in COLUMN_FIELDS:
            if name in data and name not in declared:
                column_values[name] = data.pop(name)
        cleaned = clean_fields(self.account_fields, data, prefix="fields.")
        for name in COLUMN_FIELDS:
            if name in cleaned:
                column_values[name] = cleaned.pop(name)
        ext_id = column_values.get("ext_id")
        ext_id = None if ext_id in (None, "") else str(ext_id)
        cleaned = {k: v for k, v in cleaned.items() if v is not None}
        if self.check_account is not None:
            self.check_account(AccountDraft(login, cleaned, ext_id, agent_settings, tariff_id))
        return cleaned, ext_id
