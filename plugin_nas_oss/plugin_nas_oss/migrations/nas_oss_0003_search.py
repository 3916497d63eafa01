"""nas_oss: indexes for finding NAS accounts by IP and MAC (plugin_nas_oss.search)

The IP and the MAC live in the core's `account.fields` (JSON); the top search box looks
them up among a million accounts, so each gets an expression index on PostgreSQL: a
btree on the IP (text_pattern_ops: exact and prefix matches) and a pg_trgm GIN index on
the MAC's hex digits (its last digits). pg_trgm comes with the core's revision 0008.
SQLite gets none.
"""
from alembic import op

revision = "nas_oss_0003"
down_revision = "nas_oss_0002"
branch_labels = None
depends_on = "0008"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_account_nas_ip ON account ((fields ->> 'ip') text_pattern_ops)")
    op.execute("CREATE INDEX ix_account_nas_mac_trgm ON account USING gin "
               "((CAST(replace(fields ->> 'mac', ':', '') AS TEXT)) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_account_nas_mac_trgm")
    op.execute("DROP INDEX ix_account_nas_ip")
