"""documents — templates, provider details, e-mail

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Invoices, acts and statements print the provider's details (реквизиты), kept per
operator in `provider_details`; an operator's edited template of a document lives in
`document_template` (no row: the shipped default); every e-mail queued to a subscriber
is a row of `mail_message`, unique by (document, recipient) so a repeated run sends
nothing twice, and updated with the mail server's answer by its delivery.
"""
from alembic import op
import sqlalchemy as sa

import core.models.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
KINDS = "('invoice', 'act', 'statement')"


def upgrade() -> None:
    op.create_table('provider_details',
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('tax_id', sa.String(length=20), nullable=False),
    sa.Column('tax_reg', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('bank_name', sa.String(length=300), nullable=False),
    sa.Column('bank_account', sa.String(length=40), nullable=False),
    sa.Column('bic', sa.String(length=20), nullable=False),
    sa.Column('correspondent_account', sa.String(length=40), nullable=False),
    sa.Column('phone', sa.String(length=50), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('updated_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['operator.id'],
                            name=op.f('fk_provider_details_operator_id_operator')),
    sa.PrimaryKeyConstraint('operator_id', name=op.f('pk_provider_details'))
    )
    op.create_table('document_template',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('updated_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.CheckConstraint(f"kind IN {KINDS}", name=op.f('ck_document_template_kind')),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_document_template'))
    )
    op.create_table('mail_message',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('document', sa.String(length=20), nullable=True),
    sa.Column('invoice_id', BIG_ID, nullable=True),
    sa.Column('first_day', sa.Date(), nullable=True),
    sa.Column('last_day', sa.Date(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=300), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('server_reply', sa.Text(), nullable=True),
    sa.Column('queued_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('queued_by', sa.String(length=100), nullable=False),
    sa.Column('sent_at', core.models.base.UTCDateTime(), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'sent', 'failed')",
                       name=op.f('ck_mail_message_state')),
    sa.CheckConstraint(f"document IS NULL OR document IN {KINDS}",
                       name=op.f('ck_mail_message_document')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'],
                            name=op.f('fk_mail_message_contract_id_contract')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'],
                            name=op.f('fk_mail_message_invoice_id_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_message')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_mail_message_dedupe_key'))
    )
    op.create_index('ix_mail_message_contract', 'mail_message', ['contract_id', 'id'])
    op.create_index('ix_mail_message_queued_at', 'mail_message', ['queued_at'])


def downgrade() -> None:
    op.drop_index('ix_mail_message_queued_at', table_name='mail_message')
    op.drop_index('ix_mail_message_contract', table_name='mail_message')
    op.drop_table('mail_message')
    op.drop_table('document_template')
    op.drop_table('provider_details')
