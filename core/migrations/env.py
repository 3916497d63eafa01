"""Alembic environment: the connection (and, for a revision of one branch, the tables to
compare) come from `core.migrate` (config.attributes)."""
from __future__ import annotations

from alembic import context

from core.migrate import include_object
from core.models import Base


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # `core.migrate.revision` narrows autogenerate to one branch's tables
        include_object=context.config.attributes.get("include_object", include_object),
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
