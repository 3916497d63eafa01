"""The few SQL expressions that SQLite and PostgreSQL spell differently, and the bulk
statements that the set-based runs share."""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import (ARRAY, JSON, BigInteger, Integer, String, any_, bindparam, cast,
                        func, insert, text)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from core.db import json_dumps


def day_diff(dialect: str, later, earlier) -> ColumnElement:
    """Whole days from `earlier` to `later` (both DATE)."""
    if dialect == "postgresql":
        return cast(later - earlier, Integer)
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def padded(dialect: str, expression, width: int = 12) -> ColumnElement:
    """An integer as zero-padded text, so keys built from ids sort in id order."""
    if dialect == "postgresql":
        return func.lpad(cast(expression, String), width, "0")
    return func.printf(f"%0{width}d", expression)


def inline_ids(name: str, ids: Iterable[int] | None = None):
    """An IN-list of ids rendered inline: a batch's hundreds of ids (integers, or a
    platform's codes, quoted as SQL literals) as one literal list instead of hundreds of
    bound parameters to convert and send. Without `ids`, they are given at execution
    under `name`."""
    return bindparam(name, None if ids is None else list(ids), expanding=True,
                     literal_execute=True)


def among(dialect: str, column, name: str) -> ColumnElement:
    """`column` among the ids given at execution under `name` (a list): on PostgreSQL one
    array parameter (`= ANY(:name)`), so the statement's text never changes whatever the
    number of ids (the driver parses it once, the server plans it once); elsewhere an
    inline list (`inline_ids`). For statements built once and run for every batch."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(BigInteger)))
    return column.in_(inline_ids(name))


def insert_rows(session: Session, model, rows: list[dict[str, Any]],
                returning: tuple[str, ...] = (), skip_existing: tuple[str, ...] = (),
                upsert_on: tuple[str, ...] = (), update: tuple[str, ...] = ()) -> list:
    """Insert `rows` (dicts with the same keys) into `model`'s table in one statement.

    On PostgreSQL it is `INSERT … SELECT * FROM unnest(<one array per column>)`: a handful
    of parameters whatever the number of rows, where a multi-row VALUES passes, converts
    and parses one parameter per value (three times slower for a batch of invoices), and
    an executemany sends one statement a row. JSON columns travel as arrays of JSON text.
    Elsewhere it is SQLAlchemy's bulk insert. `skip_existing` names the columns of a
    unique key: a row whose key is taken is left out (`ON CONFLICT (…) DO NOTHING`), and
    only the rows inserted come back. `upsert_on` names a unique key too, and a row whose
    key is taken sets the columns named in `update` instead (`DO UPDATE`; the rows may
    not name one key twice). The returned rows come in no given order.
    """
    table = model.__table__
    if session.bind.dialect.name != "postgresql":
        statement = insert(model)
        if skip_existing:
            statement = sqlite_insert(model).on_conflict_do_nothing(
                index_elements=list(skip_existing))
        elif upsert_on:
            statement = sqlite_insert(model)
            statement = statement.on_conflict_do_update(
                index_elements=list(upsert_on),
                set_={name: statement.excluded[name] for name in update})
        if returning:
            statement = statement.returning(*(table.c[name] for name in returning))
        result = session.execute(statement, rows)
        return result.all() if returning else []
    dialect = session.bind.dialect
    quote = dialect.identifier_preparer.quote
    names = list(rows[0])
    json = {name for name in names if isinstance(table.c[name].type, JSON)}
    arrays = ", ".join(
        f"CAST(CAST(:{name} AS TEXT[]) AS JSON[])" if name in json else
        f"CAST(:{name} AS {table.c[name].type.compile(dialect)}[])" for name in names)
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
           f"SELECT * FROM unnest({arrays})")
    if skip_existing:
        sql += f" ON CONFLICT ({', '.join(quote(n) for n in skip_existing)}) DO NOTHING"
    elif upsert_on:
        sql += (f" ON CONFLICT ({', '.join(quote(n) for n in upsert_on)}) DO UPDATE SET "
                + ", ".join(f"{quote(n)} = excluded.{quote(n)}" for n in update))
    if returning:
        sql += f" RETURNING {', '.join(quote(n) for n in returning)}"
    result = session.execute(text(sql), {
        name: [json_dumps(row[name]) for row in rows] if name in json else
        [row[name] for row in rows] for name in names})
    return result.all() if returning else []
    dialect = session.bind.dialect
    quote = dialect.identifier_preparer.quote
    names = list(rows[0])
    arrays = ", ".join(f"CAST(:{name} AS {table.c[name].type.compile(dialect)}[])"
                       for name in names)
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
           f"SELECT * FROM unnest({arrays})")
    if skip_existing:
        sql += f" ON CONFLICT ({', '.join(quote(n) for n in skip_existing)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(quote(n) for n in returning)}"
    result = session.execute(text(sql), {name: [row[name] for row in rows] for name in names})
    return result.all() if returning else []
