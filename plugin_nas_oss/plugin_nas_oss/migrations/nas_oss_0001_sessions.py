"""nas_oss: the nas_session table (the RADIUS server's accounting: start / interim / stop)

The first revision of the plugin's own branch: labelled with the plugin's name, after the
core revision it needs (its foreign keys point at the core's `agent` and `account`).
"""
import sqlalchemy as sa
from alembic import op

revision = "nas_oss_0001"
down_revision = None
branch_labels = ("nas_oss",)
depends_on = "0004"


def upgrade() -> None:
    op.create_table(
        "nas_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("framed_ip", sa.String(length=45), nullable=True),
        sa.Column("mac", sa.String(length=17), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("octets_in", sa.BigInteger(), nullable=False),
        sa.Column("octets_out", sa.BigInteger(), nullable=False),
        sa.Column("terminate_cause", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"],
                                name=op.f("fk_nas_session_account_id_account")),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"],
                                name=op.f("fk_nas_session_agent_id_agent")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nas_session")),
        sa.UniqueConstraint("agent_id", "session_id",
                            name=op.f("uq_nas_session_agent_id_session_id")),
    )
    op.create_index(op.f("ix_nas_session_account_id"), "nas_session", ["account_id"])
    op.create_index("ix_nas_session_open", "nas_session", ["agent_id", "stopped_at"])


def downgrade() -> None:
    op.drop_table("nas_session")
