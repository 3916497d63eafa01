"""Helpers for Abonent's own tests (fixtures come from plugins.testing and conftest.py)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from core.models import Base

ROOT = Path(__file__).resolve().parent.parent
PROCS = Path(__file__).resolve().parent / "procs"


def row_counts(session) -> dict[str, int]:
    """Rows per table: "the database is unchanged" is these counts staying equal."""
    return {table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables}


def fake_distribution(where: Path, name: str, entry_points: dict[str, str]) -> Path:
    """Make `name` look installed with these `abonent.plugins` entry points, the way pip
    leaves a plugin: a .dist-info folder on sys.path. Returns the folder to put on the path.
    """
    info = where / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    lines = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[abonent.plugins]\n{lines}")
    return where
