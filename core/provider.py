"""The provider's details (реквизиты) that every invoice, act and statement prints: name,
tax ids, address, bank, phone and e-mail, one set per operator, edited by an
administrator (audited). Until they are entered, documents print the operator's name.

The checks are the forms' own: a Russian INN has 10 or 12 digits, a Polish NIP 10 (its
dashes dropped), a KPP 9 characters, a Russian BIC 9 digits or a SWIFT code 8 or 11, an
account up to 34 characters (a Russian account's 20 digits, an IBAN).
"""
from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from core.audit import audit, diff
from core.clock import now
from core.errors import ValidationError
from core.models import Operator, ProviderDetails
from core.runtime import actor_of
from core.services import inputs

#: field -> (longest, full-match pattern or None, what a wrong value is told)
FIELDS: dict[str, tuple[int, str | None, str]] = {
    "name": (300, None, ""),
    "tax_id": (20, r"\d{10}|\d{12}", "must be 10 or 12 digits (INN, NIP)"),
    "tax_reg": (20, r"[0-9A-Z]{9}", "must be 9 digits or capital letters (KPP)"),
    "address": (500, None, ""),
    "bank_name": (300, None, ""),
    "bank_account": (40, r"[0-9A-Z]{8,34}", "must be 8 to 34 digits or capital letters"),
    "bic": (20, r"\d{9}|[A-Z]{6}[0-9A-Z]{2}([0-9A-Z]{3})?",
            "must be 9 digits (BIC) or a SWIFT code of 8 or 11 characters"),
    "correspondent_account": (40, r"\d{20}", "must be 20 digits"),
    "phone": (50, r"[0-9+()\- ]{5,50}", "must be a phone number"),
    "email": (200, r"[^@\s]+@[^@\s]+\.[^@\s]+", "must be an e-mail address"),
}
#: separators people type inside numbers (NIP 123-456-78-90, IBAN in groups)
SEPARATORS = re.compile(r"[\s\-]")


def provider_of(session: Session, operator: Operator) -> SimpleNamespace:
    """What documents print as the provider: the stored details, or the operator's name."""
    row = session.get(ProviderDetails, operator.id)
    values = {name: (getattr(row, name) if row is not None else "") for name in FIELDS}
    values["name"] = values["name"] or operator.name
    return SimpleNamespace(**values)


def _clean(name: str, raw: Any) -> str:
    longest, pattern, what = FIELDS[name]
    value = inputs.text(raw, name, required=name == "name", max_len=longest) or ""
    if pattern and value:
        if name in ("tax_id", "bank_account", "correspondent_account"):
            value = SEPARATORS.sub("", value).upper()
        if not re.fullmatch(pattern, value):
            raise ValidationError(name, what)
    return value


def save_provider(session: Session, operator_id: int, data: dict[str, Any]) -> ProviderDetails:
    """Store the details given for the operator; every field checked first (the first
    bad one refused by name), the change audited with old and new values."""
    inputs.only(data, FIELDS)
    operator = inputs.fetch(session, Operator, operator_id, "operator_id")
    values = {name: _clean(name, data.get(name)) for name in FIELDS}
    row = session.get(ProviderDetails, operator.id)
    old = {name: getattr(row, name) for name in FIELDS} if row is not None else {}
    if row is None:
        row = ProviderDetails(operator_id=operator.id)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at, row.updated_by = now(), actor_of(session)
    audit(session, "provider_saved", "provider_details", operator.id, diff(old, values))
    return row
