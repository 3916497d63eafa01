"""Fixtures of Abonent's own tests beyond those of plugins.testing."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "example_plugin")]

from plugins.testing import RecordingPlugin  # noqa: E402
from support import row_counts  # noqa: E402

# CI replays the same examples every run (a submission passes or fails on its own code, not
# on a draw); a developer's `make test` keeps drawing new ones, which is how the fuzz tests
# find what they find.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def counts(runtime):
    """counts() → rows per table, to show that a refused operation wrote nothing."""
    def take():
        with runtime.session() as s:
            return row_counts(s)
    return take


@pytest.fixture
def listener():
    """A plugin recording every notification; a module registers it by overriding
    `abonent_plugins` to return [("listener", listener)]."""
    return RecordingPlugin()


@pytest.fixture
def empty_database_url(abonent_backend, tmp_path) -> str:
    """A fresh, empty (not migrated) database of the backend under test, for the CLI."""
    from plugins.testing import create_postgres_database, postgres_url
    if abonent_backend == "sqlite":
        return f"sqlite:///{tmp_path / 'cli.db'}"
    return create_postgres_database(postgres_url(), "abonent_cli")


@pytest.fixture
def import_catalog(factory):
    """The operator, tariffs and agent that docs/samples/subscribers.csv names (the
    demo's), for the import of subscribers."""
    factory.operator()
    for name in ("Home 100", "Home 300", "Daily 50"):
        factory.tariff(name=name)
    factory.agent(name="Internet (NAS 1)")
