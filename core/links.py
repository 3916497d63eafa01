"""Plugins' memory of platform ids: (plugin, kind, our id) → external id and data.

A plugin calls these inside its own transaction (`ctx.session()`); they write no events
and no audit entries, because they record what the platform said, not a billing change.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, inspect, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.clock import now
from core.db import json_dumps
from core.models import ExternalLink


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
    """`set_link` for each of `writes`, in one executemany per statement shape (with and
    without data); writes that touch one link twice are made one by one, in order (an
    upsert of many rows may not change a row twice, and their order matters)."""
    if len({write.key for write in writes}) < len(writes):
        for write in writes:
            set_links(session, [write])
        return
    connection = session.connection()
    at = now()
    for with_data in (False, True):
        chosen = [w for w in writes if (w.data is not None) == with_data]
        if not chosen:
            continue
        if connection.dialect.name == "postgresql":  # one statement, the rows as arrays
            connection.execute(_upsert_arrays(with_data), {
                "plugin": [w.plugin for w in chosen], "kind": [w.kind for w in chosen],
                "local_id": [w.local_id for w in chosen],
                "external_id": [str(w.external_id) for w in chosen],
                "data": [json_dumps(w.data or {}) for w in chosen], "at": at})
        else:
            connection.execute(_upsert(connection.dialect.name, with_data), [
                {"plugin": w.plugin, "kind": w.kind, "local_id": w.local_id,
                 "external_id": str(w.external_id), "data": w.data or {}, "at": at}
                for w in chosen])
    keys = {write.key for write in writes}
    for held in list(session.identity_map.values()):
        loaded = inspect(held).dict
        if isinstance(held, ExternalLink) and (
                loaded.get("plugin"), loaded.get("kind"), loaded.get("local_id")) in keys:
            session.expire(held)


@functools.cache
def _upsert(dialect: str, with_data: bool):
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = ExternalLink.__table__
    # inline: no RETURNING of the id, which nobody reads (fetching it cost a tenth of a write)
    statement = insert(table).inline().values(
        plugin=bindparam("plugin"), kind=bindparam("kind"), local_id=bindparam("local_id"),
        external_id=bindparam("external_id"), data=bindparam("data", type_=table.c.data.type),
        updated_at=bindparam("at", type_=table.c.updated_at.type))
    changes = {"external_id": statement.excluded.external_id,
               "updated_at": statement.excluded.updated_at}
    if with_data:
        changes["data"] = statement.excluded.data
    return statement.on_conflict_do_update(index_elements=["plugin", "kind", "local_id"],
                                           set_=changes)


@functools.cache
def _upsert_arrays(with_data: bool):
    """The upsert on PostgreSQL: `INSERT … SELECT FROM unnest(<one array per column>)`,
    whose text is the same for any number of links (parsed and planned once by the
    server), where an executemany sends and answers one statement a row (a fifth of the
    outbox worker's CPU went into psycopg's pipeline of them)."""
    changes = "external_id = excluded.external_id, updated_at = excluded.updated_at"
    if with_data:
        changes += ", data = excluded.data"
    return text(
        "INSERT INTO external_link (plugin, kind, local_id, external_id, data, updated_at) "
        "SELECT plugin, kind, local_id, external_id, CAST(data AS JSON), :at "
        "FROM unnest(CAST(:plugin AS VARCHAR[]), CAST(:kind AS VARCHAR[]), "
        "CAST(:local_id AS INTEGER[]), CAST(:external_id AS VARCHAR[]), CAST(:data AS TEXT[])) "
        "AS given(plugin, kind, local_id, external_id, data) "
        f"ON CONFLICT (plugin, kind, local_id) DO UPDATE SET {changes}"
    ).bindparams(bindparam("at", type_=ExternalLink.__table__.c.updated_at.type))


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
