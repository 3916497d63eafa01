"""nas_oss: the nas_command table (every OSS command sent to a NAS, with its answer;
plugin_nas_oss.command_log)
"""
import sqlalchemy as sa
from alembic import op

revision = "nas_oss_0002"
down_revision = "nas_oss_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nas_command",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("command", sa.String(length=30), nullable=False),
        sa.Column("transport", sa.String(length=12), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("answer", sa.String(length=1000), nullable=False),
        sa.Column("delivery_key", sa.String(length=120), nullable=True),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"],
                                name=op.f("fk_nas_command_account_id_account")),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"],
                                name=op.f("fk_nas_command_agent_id_agent")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nas_command")),
    )
    op.create_index("ix_nas_command_account", "nas_command", ["account_id", "id"])
    op.create_index("ix_nas_command_delivery", "nas_command", ["delivery_key"])


def downgrade() -> None:
    op.drop_table("nas_command")
