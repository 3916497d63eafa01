"""Plugins' memory of platform ids: (plugin, kind, our id) → external id and data.

A plugin calls these inside its own transaction (`ctx.session()`); they write no events
and no audit entries, because they record what the platform said, not a billing change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, inspect, select
from sqlalchemy.orm import Session

from core.clock import now
from core.models import ExternalLink
from core.sqlfuncs import insert_rows


def get_link(session: Session, plugin: str, kind: str, local_id: int) -> ExternalLink | None:
    return session.scalars(select(ExternalLink).where(
        ExternalLink.plugin == plugin, ExternalLink.kind == kind,
        ExternalLink.local_id == local_id)).first()


def find_link(session: Session, plugin: str, kind: str, external_id: str) -> ExternalLink | None:
    """The link of a platform id (e.g. the account behind a 24h TV user id)."""
    return session.scalars(select(ExternalLink).where(
        ExternalLink.plugin == plugin, ExternalLink.kind == kind,
        ExternalLink.external_id == str(external_id)).order_by(ExternalLink.id)).first()


def set_link(session: Session, plugin: str, kind: str, local_id: int, external_id: Any,
             data: dict[str, Any] | None = None) -> None:
    """Create or update the link; `data` replaces the stored data when given.

    One prepared statement (an upsert: a delivery writes a link after every platform
    call), run on the session's connection (the ORM has nothing to do with it); a copy of
    the link the session already holds is expired, so it is read again."""
    set_links(session, [LinkWrite(plugin, kind, local_id, external_id, data)])


@dataclass(frozen=True)
class LinkWrite:
    """`set_link` as a value: what a delivery hands to `ctx.write`, so that the outbox
    writes the links of a whole batch of deliveries with one statement (`set_links`)."""

    plugin: str
    kind: str
    local_id: int
    external_id: Any
    data: dict[str, Any] | None = None

    def __call__(self, session: Session) -> None:
        set_links(session, [self])

    @property
    def key(self) -> tuple[str, str, int]:
        return self.plugin, self.kind, self.local_id


def set_links(session: Session, writes: list[LinkWrite]) -> None:
    """`set_link` for each of `writes`, in one upsert (`insert_rows`) per shape (with and
    without data); writes that touch one link twice are made one by one, in order (an
    upsert of many rows may not change a row twice, and their order matters)."""
    if len({write.key for write in writes}) < len(writes):
        for write in writes:
            set_links(session, [write])
        return
    at = now()
    for with_data in (False, True):
        rows = [{"plugin": w.plugin, "kind": w.kind, "local_id": w.local_id,
                 "external_id": str(w.external_id), "data": w.data or {}, "updated_at": at}
                for w in writes if (w.data is not None) == with_data]
        if rows:
            insert_rows(session, ExternalLink, rows, upsert_on=("plugin", "kind", "local_id"),
                        update=("external_id", "updated_at", *(("data",) if with_data else ())))
    keys = {write.key for write in writes}
    for held in list(session.identity_map.values()):
        loaded = inspect(held).dict
        if isinstance(held, ExternalLink) and (
                loaded.get("plugin"), loaded.get("kind"), loaded.get("local_id")) in keys:
            session.expire(held)


def delete_link(session: Session, plugin: str, kind: str, local_id: int) -> bool:
    result = session.execute(delete(ExternalLink).where(
        ExternalLink.plugin == plugin, ExternalLink.kind == kind,
        ExternalLink.local_id == local_id))
    return result.rowcount > 0


def links_of(session: Session, plugin: str, kind: str) -> list[ExternalLink]:
    """Every link of one plugin and kind, by our id (a reconcile's "what we think is on
    the platform")."""
    return list(session.scalars(select(ExternalLink).where(
        ExternalLink.plugin == plugin, ExternalLink.kind == kind).order_by(ExternalLink.local_id)))
