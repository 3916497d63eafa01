"""The few SQL expressions that SQLite and PostgreSQL spell differently."""
from __future__ import annotations

from sqlalchemy import Integer, String, cast, func
from sqlalchemy.sql import ColumnElement


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
