"""sms: the sms_message table

The first revision of the plugin's own branch: labelled with the plugin's name, on no
earlier revision of its own, after the core revision it needs (its foreign key points at
the core's `contract`). Revision ids carry the plugin's name so they never clash.
"""
from alembic import op
import sqlalchemy as sa

revision = "sms_0001"
down_revision = None
branch_labels = ("sms",)
depends_on = "0003"


def upgrade() -> None:
    op.create_table(
        "sms_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=15), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("gateway_id", sa.String(length=100), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"],
                                name=op.f("fk_sms_message_contract_id_contract")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_message")),
        sa.UniqueConstraint("ref", name=op.f("uq_sms_message_ref")),
    )
    op.create_index(op.f("ix_sms_message_contract_id"), "sms_message", ["contract_id"])


def downgrade() -> None:
    op.drop_table("sms_message")
