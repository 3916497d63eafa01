"""server-side admin sessions, login throttling, TOTP secret

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

`staff_session` holds every admin login on the server (the cookie carries only a token
whose hash is stored), so logout, a password change or disabling a manager ends sessions
for good and idle ones expire. `login_throttle` counts failed logins per login and per
client address for the growing delay and the temporary lockout. `manager.totp_secret`
is the optional second factor's shared secret (NULL: no second factor).
"""
from alembic import op
import sqlalchemy as sa

import core.models.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('manager', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
    op.create_table('staff_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('ended_at', core.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['manager_id'], ['manager.id'], name=op.f('fk_staff_session_manager_id_manager')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_session_token_hash'))
    )
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_session_manager_id'), ['manager_id'], unique=False)
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failed_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('locked_until', core.models.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )


def downgrade() -> None:
    op.drop_table('login_throttle')
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_session_manager_id'))
    op.drop_table('staff_session')
    with op.batch_alter_table('manager', schema=None) as batch_op:
        batch_op.drop_column('totp_secret')
