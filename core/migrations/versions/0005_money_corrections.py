"""money corrections: payment kinds and reversals, promised payments, instalments

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

A typo payment is no longer permanent: it is reversed by a negative row of the payment
table that names it (`reverses_id`, unique: once), never deleted. Manual credits and
promised payments are rows of the same table told apart by `kind`, so the ledger's
identity (balance = payments − charges) holds as it did. Existing payments are of kind
"payment". Promised payments and instalments get their own tables.
"""
from alembic import op
import sqlalchemy as sa

import core.models.base

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

OPEN = sa.text("ended_at IS NULL")
NEW_CHECK = ("(amount > 0 AND kind IN ('payment', 'credit', 'promise') AND reverses_id IS NULL)"
             " OR (amount < 0 AND kind IN ('reversal', 'promise_end') "
             "AND reverses_id IS NOT NULL)")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=12), server_default='payment',
                                      nullable=False))
        batch_op.add_column(sa.Column('reverses_id', BIG_ID, nullable=True))
        batch_op.drop_constraint(op.f('ck_payment_amount'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payment_amount'), sa.text(NEW_CHECK))
        batch_op.create_unique_constraint(op.f('uq_payment_reverses_id'), ['reverses_id'])
        batch_op.create_foreign_key(op.f('fk_payment_reverses_id_payment'), 'payment',
                                    ['reverses_id'], ['id'])

    op.create_table('promised_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('amount', core.models.base.Money(), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('given_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('credit_id', BIG_ID, nullable=False),
    sa.Column('ended_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=10), nullable=True),
    sa.Column('closing_id', BIG_ID, nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_promised_payment_amount')),
    sa.CheckConstraint("end_reason IS NULL OR end_reason IN ('paid', 'expired')",
                       name=op.f('ck_promised_payment_end_reason')),
    sa.ForeignKeyConstraint(['closing_id'], ['payment.id'],
                            name=op.f('fk_promised_payment_closing_id_payment')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'],
                            name=op.f('fk_promised_payment_contract_id_contract')),
    sa.ForeignKeyConstraint(['credit_id'], ['payment.id'],
                            name=op.f('fk_promised_payment_credit_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promised_payment'))
    )
    with op.batch_alter_table('promised_payment', schema=None) as batch_op:
        batch_op.create_index('ix_promised_payment_contract', ['contract_id', 'given_at'],
                              unique=False)
        batch_op.create_index('ix_promised_payment_open', ['contract_id'], unique=True,
                              sqlite_where=OPEN, postgresql_where=OPEN)

    op.create_table('instalment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('price', core.models.base.Money(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('first_on', sa.Date(), nullable=False),
    sa.Column('charged', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint('price > 0', name=op.f('ck_instalment_price')),
    sa.CheckConstraint('months >= 1 AND charged >= 0 AND charged <= months',
                       name=op.f('ck_instalment_months')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'],
                            name=op.f('fk_instalment_contract_id_contract')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instalment'))
    )
    with op.batch_alter_table('instalment', schema=None) as batch_op:
        batch_op.create_index('ix_instalment_contract', ['contract_id'], unique=False)
        batch_op.create_index('ix_instalment_due', ['charged', 'first_on'], unique=False)


def downgrade() -> None:
    op.drop_table('instalment')
    op.drop_table('promised_payment')
    op.execute("DELETE FROM payment WHERE kind <> 'payment'")
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_payment_reverses_id_payment'), type_='foreignkey')
        batch_op.drop_constraint(op.f('uq_payment_reverses_id'), type_='unique')
        batch_op.drop_constraint(op.f('ck_payment_amount'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payment_amount'), sa.text('amount > 0'))
        batch_op.drop_column('reverses_id')
        batch_op.drop_column('kind')
