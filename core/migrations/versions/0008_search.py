"""search — trigram indexes for finding subscribers by fragments

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

The search (core.search) finds a word or a fragment anywhere in a name, a contract
number and a phone ("Petrov" in "Ivan Petrov", "0042" in "2026-00042", the last digits
of "79161234567"): `LIKE '%fragment%'`, which a btree cannot serve. On PostgreSQL a GIN
index of pg_trgm's trigrams serves it, reading only the rows whose trigrams match, so a
search in a million subscribers stays in milliseconds. The indexes are on `CAST(column
AS TEXT)`, the expression core.search compares. SQLite gets none: an embedded database
is small enough to read.
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

INDEXES = (("ix_subscriber_name_trgm", "subscriber", "name"),
           ("ix_contract_number_trgm", "contract", "number"),
           ("ix_phone_number_trgm", "phone", "number"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        op.execute(f"CREATE INDEX {name} ON {table} USING gin "
                   f"((CAST({column} AS TEXT)) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _, _ in INDEXES:
        op.execute(f"DROP INDEX {name}")
