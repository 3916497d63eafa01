"""Fixtures of Abonent's own tests beyond those of plugins.testing."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "example_plugin")]

from support import row_counts  # noqa: E402


@pytest.fixture
def counts(runtime):
    """counts() → rows per table, to show that a refused operation wrote nothing."""
    def take():
        with runtime.session() as s:
            return row_counts(s)
    return take
