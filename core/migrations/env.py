"""Alembic environment: the connection (and, for a revision of one branch, the tables to
compare) come from `core.migrate` (config.attributes)."""
from __future__ import annotations

from alembic import context

from core.models import Base


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # `core.migrate._run` passes it: a revision of one branch compares its tables only
        include_object=context.config.attributes["include_object"],
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
