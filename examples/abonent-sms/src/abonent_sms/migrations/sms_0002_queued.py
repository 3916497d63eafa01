"""sms: queued notices (a message without a gateway id nor a time sent yet)

A later revision of the plugin's branch: after its own previous one, on no other branch.
`batch_alter_table` because SQLite changes a column by copying its table.
"""
from alembic import op
import sqlalchemy as sa

revision = "sms_0002"
down_revision = "sms_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sms_message") as table:
        table.alter_column("gateway_id", existing_type=sa.String(length=100), nullable=True)
        table.alter_column("sent_at", existing_type=sa.DateTime(timezone=True), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM sms_message WHERE gateway_id IS NULL")  # never sent: unsendable
    with op.batch_alter_table("sms_message") as table:
        table.alter_column("gateway_id", existing_type=sa.String(length=100), nullable=False)
        table.alter_column("sent_at", existing_type=sa.DateTime(timezone=True), nullable=False)
