"""Declarative base and the column types every model shares.

`UTCDateTime` keeps datetimes aware UTC on both databases (SQLite has no time zones);
`Money` and `Rate` are NUMERIC with fixed scale; `BigId` is a 64-bit key that still
autoincrements on SQLite (where only INTEGER PRIMARY KEY does).
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, MetaData, Numeric, Text, cast
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as UTC; naive values are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class _Fixed(TypeDecorator):
    """NUMERIC with a fixed scale, always returned as a Decimal of that scale.

    SQLite has no decimal type: there the value travels as a float and is rounded back to
    the scale on the way out, which is exact for ledger-sized amounts.
    """

    impl = Numeric
    cache_ok = True
    scale = 2

    def __init__(self, precision: int = 18, scale: int | None = None):
        super().__init__(precision, self.scale if scale is None else scale)
        self._quantum = Decimal(1).scaleb(-self.scale)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(18, self.scale, asdecimal=False))
        return dialect.type_descriptor(Numeric(18, self.scale))

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        return float(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(str(value)).quantize(self._quantum)


class Money(_Fixed):
    """A ledger amount: NUMERIC(18, 2)."""

    cache_ok = True
    scale = 2


class Rate(_Fixed):
    """A price per unit or a measured quantity: NUMERIC(18, 6)."""

    cache_ok = True
    scale = 6


BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), Decimal: Money(), dict: JSON(), list: JSON()}


def trigram_index(table, name: str, expression, **info) -> Index:
    """A PostgreSQL GIN trigram index (pg_trgm's gin_trgm_ops) on `expression` cast to
    TEXT, on `table`: it serves `LIKE` / `ILIKE '%fragment%'` on that cast (core.search)
    by reading the rows whose trigrams match instead of every row. PostgreSQL only
    (`ddl_if`); being an expression index, the drift check leaves it alone on SQLite,
    which cannot reflect one. `info` is kept on the index (a plugin's index on a core
    table says `package=` its package, see core.migrate.differences)."""
    index = Index(name, cast(expression, Text).label("trgm"), postgresql_using="gin",
                  postgresql_ops={"trgm": "gin_trgm_ops"}, info=info)
    if index.table is None:  # an expression of literals and functions names no table
        table.append_constraint(index)
    return index.ddl_if(dialect="postgresql")
