"""notes: the notes_note table

Revision ID: notes_0001
Revises:
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = 'notes_0001'
down_revision = None
branch_labels = ('notes',)
depends_on = '0003'


def upgrade() -> None:
    op.create_table('notes_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_notes_note_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes_note'))
    )
    with op.batch_alter_table('notes_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notes_note_account_id'), ['account_id'], unique=False)


def downgrade() -> None:
    op.drop_table('notes_note')
