"""charges know their invoice

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07

`charge.invoice_id` names the invoice that carries a charge, so a charge that lands in a
month already invoiced (a late CDR, a manual charge) goes on the contract's next invoice
as a correction line instead of on none. Charges of invoices issued before this
migration are linked to them when they were written before the invoice was issued; those
written after it (which no invoice carried) stay unlinked and become corrections on the
next invoice. `ix_invoice_period_start` lets a run find the first invoiced month at once.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoice_id',
                                      sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_charge_invoice_id_invoice'), 'invoice',
                                    ['invoice_id'], ['id'])
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_period_start', ['period_start'], unique=False)
    op.execute(
        "UPDATE charge SET invoice_id = (SELECT invoice.id FROM invoice"
        " WHERE invoice.contract_id = charge.contract_id"
        " AND charge.period_start BETWEEN invoice.period_start AND invoice.period_end"
        " AND charge.created_at <= invoice.issued_at)")


def downgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_period_start')
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_charge_invoice_id_invoice'), type_='foreignkey')
        batch_op.drop_column('invoice_id')
