"""deliveries ordered per (plugin, contract)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

A contract's events reach a plugin in the order they happened, whether they are about
one of its accounts (a block) or about the contract itself (a payment): the claim's
ordering key moves from the delivery's account to its contract. `delivery.contract_id`
is copied from the event (existing rows too, so a queue in flight keeps its order), and
the partial index the claim walks follows it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contract_id', sa.Integer(), nullable=True))
    op.execute("UPDATE delivery SET contract_id = "
               "(SELECT event.contract_id FROM event WHERE event.id = delivery.event_id)")
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_order', sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.create_index('ix_delivery_order', ['plugin', 'contract_id', 'id'], unique=False,
                              sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_order', sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.create_index('ix_delivery_order', ['plugin', 'account_id', 'id'], unique=False,
                              sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.drop_column('contract_id')
