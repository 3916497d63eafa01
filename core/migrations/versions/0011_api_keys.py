"""api keys — the REST API's keys (api/, core.models.apikey)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

`api_key` holds a key's name, the role whose permissions it acts with, the SHA-256 of its
token (the token itself is shown once and never stored), its rate limit (requests a
minute), who made it and when, when it was last used and when it was revoked.
"""
from alembic import op
import sqlalchemy as sa

import core.models.base

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('rate_limit', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', core.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_api_key_role_id_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('name', name=op.f('uq_api_key_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_key_token_hash'))
    )


def downgrade() -> None:
    op.drop_table('api_key')
