"""Schema only through Alembic: models and migrations agree on both databases, and the
whole chain goes down and up again."""
from __future__ import annotations

from core import migrate
from core.db import make_engine


def test_models_and_migrations_agree(abonent_database):
    assert migrate.current(abonent_database.engine) == migrate.head()
    assert migrate.differences(abonent_database.engine) == []


def test_downgrade_to_base_and_up_again(abonent_backend, tmp_path):
    from plugins.testing import create_postgres_database, postgres_url
    url = (f"sqlite:///{tmp_path / 'm.db'}" if abonent_backend == "sqlite"
           else create_postgres_database(postgres_url(), "abonent_migrate"))
    engine = make_engine(url)
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert migrate.current(engine) is None
    migrate.upgrade(engine)
    assert migrate.differences(engine) == []
    engine.dispose()
