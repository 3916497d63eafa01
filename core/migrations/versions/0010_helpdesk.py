"""helpdesk — tickets, their comments, attachments and history; a manager's e-mail

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

A ticket (core.helpdesk) is a subscriber's request about an account, or a connection
request from a prospect known by name, phone and address (`kind`). Its thread is
`ticket_comment` (visible to the subscriber or internal), its files `ticket_attachment`
(the bytes in the database, their sniffed type), every change of status or assignee a
row of `ticket_history`. `manager.email` is where a manager is told of a subscriber's
answer in a ticket assigned to them.
"""
from alembic import op
import sqlalchemy as sa

import core.models.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('ticket',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('contract_id', sa.Integer(), nullable=True),
    sa.Column('subscriber_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('source_address', sa.String(length=100), nullable=True),
    sa.Column('category', sa.String(length=50), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('opened_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('request', 'connection')", name=op.f('ck_ticket_kind')),
    sa.CheckConstraint("status IN ('new', 'in_work', 'waiting', 'closed')",
                       name=op.f('ck_ticket_status')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'],
                            name=op.f('fk_ticket_account_id_account')),
    sa.ForeignKeyConstraint(['assignee_id'], ['manager.id'],
                            name=op.f('fk_ticket_assignee_id_manager')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'],
                            name=op.f('fk_ticket_contract_id_contract')),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscriber.id'],
                            name=op.f('fk_ticket_subscriber_id_subscriber')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket'))
    )
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_assignee', ['assignee_id', 'status'], unique=False)
        batch_op.create_index('ix_ticket_contract', ['contract_id', 'id'], unique=False)
        batch_op.create_index('ix_ticket_source', ['source_address', 'created_at'], unique=False)
        batch_op.create_index('ix_ticket_status', ['status', 'id'], unique=False)

    op.create_table('ticket_comment',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('ticket_id', BIG_ID, nullable=False),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('internal', sa.Boolean(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'],
                            name=op.f('fk_ticket_comment_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_comment'))
    )
    with op.batch_alter_table('ticket_comment', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_comment_ticket', ['ticket_id', 'id'], unique=False)

    op.create_table('ticket_history',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('ticket_id', BIG_ID, nullable=False),
    sa.Column('at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('field', sa.String(length=20), nullable=False),
    sa.Column('old', sa.String(length=200), nullable=True),
    sa.Column('new', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'],
                            name=op.f('fk_ticket_history_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_history'))
    )
    with op.batch_alter_table('ticket_history', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_history_ticket', ['ticket_id', 'id'], unique=False)

    op.create_table('ticket_attachment',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('ticket_id', BIG_ID, nullable=False),
    sa.Column('comment_id', BIG_ID, nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('internal', sa.Boolean(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['ticket_comment.id'],
                            name=op.f('fk_ticket_attachment_comment_id_ticket_comment')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'],
                            name=op.f('fk_ticket_attachment_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_attachment'))
    )
    with op.batch_alter_table('ticket_attachment', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_attachment_ticket', ['ticket_id', 'id'], unique=False)

    with op.batch_alter_table('manager', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=200), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('manager', schema=None) as batch_op:
        batch_op.drop_column('email')

    with op.batch_alter_table('ticket_attachment', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_attachment_ticket')

    op.drop_table('ticket_attachment')
    with op.batch_alter_table('ticket_history', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_history_ticket')

    op.drop_table('ticket_history')
    with op.batch_alter_table('ticket_comment', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_comment_ticket')

    op.drop_table('ticket_comment')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_status')
        batch_op.drop_index('ix_ticket_source')
        batch_op.drop_index('ix_ticket_contract')
        batch_op.drop_index('ix_ticket_assignee')

    op.drop_table('ticket')
