"""Schema only through Alembic: models and migrations agree on both databases (the core's
and the installed plugins' tables), and the whole chain goes down and up again."""
from __future__ import annotations

from core import migrate
from core.config import validate_settings
from core.db import make_engine
from plugins.host import installed_branches, make_plugin_manager, model_packages


def test_models_and_migrations_agree(abonent_database):
    branches = installed_branches()
    assert migrate.status(abonent_database.engine, branches).behind == []
    assert migrate.current(abonent_database.engine, branches) == migrate.head()
    pm = make_plugin_manager(validate_settings({"database_url": "sqlite://"}, "test"))
    assert migrate.differences(abonent_database.engine, model_packages(pm)) == []


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
