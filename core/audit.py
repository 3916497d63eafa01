"""The audit log: every change made through the core is written with who made it."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.db import jsonable
from core.models import AuditEntry
from core.runtime import actor_of


def audit(session: Session, action: str, obj_type: str, obj_id: Any,
          changes: dict[str, Any] | None = None) -> None:
    """Record `action` on (obj_type, obj_id) by the session's actor, in its transaction.

    `changes` maps a field to {"old": …, "new": …} or carries the values created.
    """
    session.add(AuditEntry(actor=actor_of(session), action=action, object_type=obj_type,
                           object_id=None if obj_id is None else str(obj_id),
                           changes=jsonable(changes or {})))


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"old", "new"}} for the keys whose values differ."""
    return {k: {"old": old.get(k), "new": new.get(k)}
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}

