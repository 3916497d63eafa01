"""The few SQL expressions that SQLite and PostgreSQL spell differently."""
from __future__ import annotations

from sqlalchemy import Integer, String, cast, func
from sqlalchemy.sql import ColumnElement


def day_diff(dialect: str, later, earlier) -> ColumnElement:
    """Whole days from `earlier` to `later` (both DATE)."""
    if dialect == "postgresql":
        return cast(later - earlier, Integer)
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def as_text(expression) -> ColumnElement:
    return cast(expression, String)
