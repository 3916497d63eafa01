"""cabinet — the subscriber's cabinet: its password, its sessions, self-service tariffs

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

`account.cabinet_password` is the argon2 hash of the password a subscriber logs in to
/my/ with (NULL: no cabinet login yet; a manager or `abonent account password` sets it).
`cabinet_session` holds the cabinet's logins on the server, as `staff_session` holds the
managers', so a logout ends one for good. `tariff.self_service` marks the tariffs a
subscriber may move to from the cabinet (none until the operator says so).
"""
from alembic import op
import sqlalchemy as sa

import core.models.base

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cabinet_password', sa.String(length=200), nullable=True))
    with op.batch_alter_table('tariff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('self_service', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.create_table('cabinet_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('ended_at', core.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'],
                            name=op.f('fk_cabinet_session_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cabinet_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_cabinet_session_token_hash'))
    )
    with op.batch_alter_table('cabinet_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cabinet_session_account_id'), ['account_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('cabinet_session')
    with op.batch_alter_table('tariff', schema=None) as batch_op:
        batch_op.drop_column('self_service')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('cabinet_password')
