"""nas_oss: an account's IP unique on its NAS, as a constraint of the database
(plugin_nas_oss.agent.UNIQUE_IP)

agent.unique_ip refuses a second account with the IP before the flush, naming the field;
two managers saving at the same moment both pass that check, and this unique partial
index on (agent, fields->>'ip') among the accounts not in the trash stops the second
one. It covers every agent's accounts: only the NAS agent type has an `ip` field.
PostgreSQL only: SQLite runs one writer at a time (and its reflection cannot read an
expression index back for the drift check).
"""
from alembic import op

revision = "nas_oss_0004"
down_revision = "nas_oss_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE UNIQUE INDEX uq_account_nas_ip ON account (agent_id, (fields ->> 'ip')) "
               "WHERE trashed_at IS NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX uq_account_nas_ip")
