"""jambox: the jambox_import_window table (the digest of each window's last answer)

Revision ID: jambox_0002
Revises: jambox_0001
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "jambox_0002"
down_revision = "jambox_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jambox_import_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"],
                                name=op.f("fk_jambox_import_window_agent_id_agent")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jambox_import_window")),
        sa.UniqueConstraint("agent_id", "first_day", "last_day",
                            name=op.f("uq_jambox_import_window_agent_id_first_day_last_day")),
    )


def downgrade() -> None:
    op.drop_table("jambox_import_window")
