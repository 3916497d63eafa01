"""cabinet reset — codes that reset a subscriber's cabinet password

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

`cabinet_reset` keeps each code sent (by e-mail or a plugin's channel) to reset an
account's cabinet password: the argon2 hash of the code, the channel, when it was made
and expires, the wrong tries counted against it and when it was used (or voided by a
newer code).
"""
from alembic import op
import sqlalchemy as sa

import core.models.base

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cabinet_reset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('used_at', core.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'],
                            name=op.f('fk_cabinet_reset_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cabinet_reset'))
    )
    with op.batch_alter_table('cabinet_reset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cabinet_reset_account_id'), ['account_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('cabinet_reset')
