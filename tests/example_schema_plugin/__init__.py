"""A plugin that keeps a table of its own (notes on accounts), with its own Alembic
branch: what `tests/test_plugin_schema.py` upgrades, checks and refuses."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core import Base

NAME = "notes"


class Note(Base):
    """A note a platform left on an account (a foreign key to a core table)."""

    __tablename__ = "notes_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                            index=True)
    text: Mapped[str] = mapped_column(String(200))


def abonent_migrations():
    return Path(__file__).parent / "migrations"
