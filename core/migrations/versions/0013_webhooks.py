"""webhooks — the operator's endpoints for signed events and the log of their attempts

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

`webhook_endpoint` holds a URL that gets chosen events (core.webhooks): its description,
the secret that signs each request (kept as given: the HMAC needs it), the event names it
wants (or "*"), whether it is enabled, who made it and when, and why it was disabled.
`webhook_attempt` logs every POST of an event to an endpoint: the event and delivery, the
outbox's attempt number, when, the HTTP status, the first 500 characters of the answer,
how long it took and the error when no answer came; indexed by event (a retry skips the
endpoints that already took it) and by endpoint (the admin's log).
"""
from alembic import op
import sqlalchemy as sa

import core.models.base

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_endpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('disabled_reason', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoint'))
    )
    op.create_table('webhook_attempt',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=True),
    sa.Column('delivery_id', sa.BigInteger(), nullable=True),
    sa.Column('event_name', sa.String(length=50), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('sent_at', core.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('response', sa.String(length=500), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.id'], name=op.f('fk_webhook_attempt_endpoint_id_webhook_endpoint'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempt'))
    )
    with op.batch_alter_table('webhook_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_attempt_endpoint_id_id', ['endpoint_id', 'id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_attempt_event_id'), ['event_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('webhook_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_attempt_event_id'))
        batch_op.drop_index('ix_webhook_attempt_endpoint_id_id')

    op.drop_table('webhook_attempt')
    op.drop_table('webhook_endpoint')
