"""Schema changes, only through Alembic: upgrade, downgrade, current, and the check that
the models and the migrations agree (what `alembic check` does, as a function)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from core.errors import AbonentError
from core.models import Base

SCRIPTS = Path(__file__).parent / "migrations"
#: Tables other libraries manage themselves; autogenerate leaves them alone.
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("version_table", "alembic_version")
    return config


def _run(engine: Engine, action, *args) -> None:
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, *args)


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str = "-1") -> None:
    _run(engine, command.downgrade, revision)


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def require_current(engine: Engine) -> None:
    """Refuse to work on a database that is unreachable or not migrated to the code's head."""
    try:
        found = current(engine)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise AbonentError(f"database_url: cannot connect to {engine.url!r}: {reason}") from None
    if found != head():
        raise AbonentError(f"the database is at revision {found or 'base (empty)'} but this "
                           f"code needs {head()}: run `abonent db upgrade`")


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new revision from the models (developers: `abonent db revision`)."""
    _run(engine, command.revision, message, True)


def differences(engine: Engine) -> list:
    """What autogenerate would change: empty when models and migrations agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": include_object})
        return compare_metadata(context, Base.metadata)
