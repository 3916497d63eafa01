"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import core.models.base


revision = '0001'
down_revision = None
branch_labels = ('core',)  # the core's branch: `abonent db downgrade core@-1`
depends_on = None


def upgrade() -> None:
    op.create_table('agent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent')),
    sa.UniqueConstraint('name', name=op.f('uq_agent_name'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('object_type', sa.String(length=50), nullable=False),
    sa.Column('object_id', sa.String(length=50), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_object', ['object_type', 'object_id'], unique=False)

    op.create_table('cdr_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('taken_at', core.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cdr_file'))
    )
    with op.batch_alter_table('cdr_file', schema=None) as batch_op:
        batch_op.create_index('ix_cdr_file_source', ['source', 'digest'], unique=False)

    op.create_table('event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('contract_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_account_id'), ['account_id'], unique=False)

    op.create_table('external_link',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plugin', sa.String(length=50), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('local_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', core.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_link')),
    sa.UniqueConstraint('plugin', 'kind', 'local_id', name=op.f('uq_external_link_plugin_kind_local_id'))
    )
    with op.batch_alter_table('external_link', schema=None) as batch_op:
        batch_op.create_index('ix_external_link_external', ['plugin', 'kind', 'external_id'], unique=False)

    op.create_table('job_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('job_id', sa.String(length=100), nullable=False),
    sa.Column('started_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('finished_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_run'))
    )
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.create_index('ix_job_run_job', ['job_id', 'started_at'], unique=False)

    op.create_table('number_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('pattern', sa.String(length=100), nullable=False),
    sa.Column('reset', sa.String(length=10), nullable=False),
    sa.CheckConstraint("reset IN ('never', 'yearly', 'monthly')", name=op.f('ck_number_plan_reset')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_number_plan')),
    sa.UniqueConstraint('name', name=op.f('uq_number_plan_name'))
    )
    op.create_table('role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('permissions', sa.JSON(), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role')),
    sa.UniqueConstraint('name', name=op.f('uq_role_name'))
    )
    op.create_table('sensor_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sensor_type')),
    sa.UniqueConstraint('name', name=op.f('uq_sensor_type_name'))
    )
    op.create_table('subscriber',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('tax_id', sa.String(length=40), nullable=True),
    sa.Column('addresses', sa.JSON(), nullable=False),
    sa.Column('comment', sa.String(length=1000), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('person', 'company')", name=op.f('ck_subscriber_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriber'))
    )
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.create_index('ix_subscriber_name', ['name'], unique=False)

    op.create_table('tariff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=True),
    sa.Column('device_limit', sa.Integer(), nullable=True),
    sa.Column('charge_when_balance', sa.Boolean(), nullable=False),
    sa.Column('charge_when_admin', sa.Boolean(), nullable=False),
    sa.Column('charge_when_voluntary', sa.Boolean(), nullable=False),
    sa.Column('charge_when_disabled', sa.Boolean(), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariff')),
    sa.UniqueConstraint('name', name=op.f('uq_tariff_name'))
    )
    op.create_table('unit',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit')),
    sa.UniqueConstraint('name', name=op.f('uq_unit_name'))
    )
    op.create_table('delivery',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plugin', sa.String(length=50), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('locked_until', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', core.models.base.UTCDateTime(), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'done', 'dead')", name=op.f('ck_delivery_state')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_delivery_event_id_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery')),
    sa.UniqueConstraint('event_id', 'plugin', name=op.f('uq_delivery_event_id_plugin'))
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_order', ['plugin', 'account_id', 'id'], unique=False, sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))
        batch_op.create_index('ix_delivery_pending', ['id'], unique=False, sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))
        batch_op.create_index('ix_delivery_state', ['state', 'plugin'], unique=False)

    op.create_table('manager',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_login_at', core.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_manager_role_id_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manager')),
    sa.UniqueConstraint('login', name=op.f('uq_manager_login'))
    )
    op.create_table('number_counter',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['number_plan.id'], name=op.f('fk_number_counter_plan_id_number_plan')),
    sa.PrimaryKeyConstraint('plan_id', 'scope', name=op.f('pk_number_counter'))
    )
    op.create_table('operator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('vat_rate', core.models.base.Rate(), nullable=False),
    sa.Column('prices_include_vat', sa.Boolean(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('grace_days', sa.Integer(), nullable=False),
    sa.Column('grace_amount', core.models.base.Money(), nullable=False),
    sa.Column('invoice_plan_id', sa.Integer(), nullable=True),
    sa.Column('contract_plan_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['contract_plan_id'], ['number_plan.id'], name=op.f('fk_operator_contract_plan_id_number_plan')),
    sa.ForeignKeyConstraint(['invoice_plan_id'], ['number_plan.id'], name=op.f('fk_operator_invoice_plan_id_number_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator'))
    )
    op.create_table('phone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscriber.id'], name=op.f('fk_phone_subscriber_id_subscriber'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone')),
    sa.UniqueConstraint('subscriber_id', 'number', name=op.f('uq_phone_subscriber_id_number'))
    )
    with op.batch_alter_table('phone', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phone_number'), ['number'], unique=False)

    op.create_table('service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=True),
    sa.Column('price', core.models.base.Money(), nullable=False),
    sa.Column('price_per_unit', core.models.base.Rate(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('sensor_type_id', sa.Integer(), nullable=True),
    sa.Column('agent_type', sa.String(length=50), nullable=True),
    sa.Column('external_code', sa.String(length=100), nullable=True),
    sa.Column('activate_string', sa.String(length=500), nullable=True),
    sa.Column('deactivate_string', sa.String(length=500), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN ('periodic', 'one_time', 'counter')", name=op.f('ck_service_kind')),
    sa.CheckConstraint("method IS NULL OR method IN ('daily', 'monthly')", name=op.f('ck_service_method')),
    sa.CheckConstraint('price >= 0', name=op.f('ck_service_price')),
    sa.ForeignKeyConstraint(['sensor_type_id'], ['sensor_type.id'], name=op.f('fk_service_sensor_type_id_sensor_type')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_service_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service'))
    )
    op.create_table('contract',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=50), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('balance', core.models.base.Money(), nullable=False),
    sa.Column('credit_limit', core.models.base.Money(), nullable=False),
    sa.Column('do_not_block', sa.Boolean(), nullable=False),
    sa.Column('grace_days', sa.Integer(), nullable=True),
    sa.Column('grace_amount', core.models.base.Money(), nullable=True),
    sa.Column('below_limit_since', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint('credit_limit >= 0', name=op.f('ck_contract_credit_limit')),
    sa.ForeignKeyConstraint(['operator_id'], ['operator.id'], name=op.f('fk_contract_operator_id_operator')),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscriber.id'], name=op.f('fk_contract_subscriber_id_subscriber')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract')),
    sa.UniqueConstraint('number', name=op.f('uq_contract_number'))
    )
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_subscriber_id'), ['subscriber_id'], unique=False)

    op.create_table('setup_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('used_at', core.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['manager_id'], ['manager.id'], name=op.f('fk_setup_token_manager_id_manager')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_setup_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_setup_token_token_hash'))
    )
    op.create_table('tariff_service',
    sa.Column('tariff_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('is_base', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_tariff_service_service_id_service')),
    sa.ForeignKeyConstraint(['tariff_id'], ['tariff.id'], name=op.f('fk_tariff_service_tariff_id_tariff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tariff_id', 'service_id', name=op.f('pk_tariff_service'))
    )
    op.create_table('account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=100), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('tariff_id', sa.Integer(), nullable=False),
    sa.Column('ext_id', sa.String(length=100), nullable=True),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('trashed_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_account_agent_id_agent')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_account_contract_id_contract')),
    sa.ForeignKeyConstraint(['tariff_id'], ['tariff.id'], name=op.f('fk_account_tariff_id_tariff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account'))
    )
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index('ix_account_ext_id', ['ext_id'], unique=False)
        batch_op.create_index('ix_account_login', ['login'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_tariff_id'), ['tariff_id'], unique=False)
        batch_op.create_index('uq_account_agent_login', ['agent_id', 'login'], unique=True, sqlite_where=sa.text('trashed_at IS NULL'), postgresql_where=sa.text('trashed_at IS NULL'))

    op.create_table('invoice',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=50), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('net', core.models.base.Money(), nullable=False),
    sa.Column('vat', core.models.base.Money(), nullable=False),
    sa.Column('gross', core.models.base.Money(), nullable=False),
    sa.Column('issued_at', core.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_invoice_contract_id_contract')),
    sa.ForeignKeyConstraint(['operator_id'], ['operator.id'], name=op.f('fk_invoice_operator_id_operator')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('contract_id', 'period_start', name=op.f('uq_invoice_contract_id_period_start')),
    sa.UniqueConstraint('number', name=op.f('uq_invoice_number'))
    )
    op.create_table('payment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('amount', core.models.base.Money(), nullable=False),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('received_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_amount')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_payment_contract_id_contract')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_payment_source_external_id'))
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index('ix_payment_contract_id', ['contract_id', 'received_at'], unique=False)

    op.create_table('block',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('start_at', core.models.base.UTCDateTime(), nullable=False),
    sa.Column('end_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('applied_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('lifted_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.CheckConstraint("source IN ('balance', 'admin', 'voluntary', 'disabled')", name=op.f('ck_block_source')),
    sa.CheckConstraint('end_at IS NULL OR end_at > start_at', name=op.f('ck_block_dates')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_block_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_block'))
    )
    with op.batch_alter_table('block', schema=None) as batch_op:
        batch_op.create_index('ix_block_open', ['account_id', 'source'], unique=False, sqlite_where=sa.text('lifted_at IS NULL'), postgresql_where=sa.text('lifted_at IS NULL'))

    op.create_table('invoice_line',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.Column('quantity', core.models.base.Rate(), nullable=False),
    sa.Column('unit', sa.String(length=30), nullable=True),
    sa.Column('net', core.models.base.Money(), nullable=False),
    sa.Column('vat_rate', core.models.base.Rate(), nullable=False),
    sa.Column('vat', core.models.base.Money(), nullable=False),
    sa.Column('gross', core.models.base.Money(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_line_invoice_id_invoice'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_invoice_line_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line'))
    )
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('is_base', sa.Boolean(), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=True),
    sa.Column('ended_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=20), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("state IN ('active', 'inactive', 'ended')", name=op.f('ck_subscription_state')),
    sa.CheckConstraint('end_on IS NULL OR end_on >= start_on', name=op.f('ck_subscription_dates')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_subscription_account_id_account')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_subscription_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription'))
    )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index('ix_subscription_account_id', ['account_id', 'state'], unique=False)
        batch_op.create_index('ix_subscription_service_state', ['service_id', 'state'], unique=False)

    op.create_table('tariff_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('old_tariff_id', sa.Integer(), nullable=False),
    sa.Column('new_tariff_id', sa.Integer(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('done_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('cancelled_at', core.models.base.UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_tariff_change_account_id_account')),
    sa.ForeignKeyConstraint(['new_tariff_id'], ['tariff.id'], name=op.f('fk_tariff_change_new_tariff_id_tariff')),
    sa.ForeignKeyConstraint(['old_tariff_id'], ['tariff.id'], name=op.f('fk_tariff_change_old_tariff_id_tariff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariff_change'))
    )
    with op.batch_alter_table('tariff_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tariff_change_account_id'), ['account_id'], unique=False)

    op.create_table('charge',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('subscription_id', sa.Integer(), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('quantity', core.models.base.Rate(), nullable=True),
    sa.Column('amount', core.models.base.Money(), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('batch', sa.String(length=40), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("amount >= 0 OR kind = 'refund'", name=op.f('ck_charge_amount')),
    sa.CheckConstraint("kind IN ('periodic', 'one_time', 'usage', 'manual', 'refund')", name=op.f('ck_charge_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_charge_account_id_account')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_charge_contract_id_contract')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_charge_service_id_service')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_charge_subscription_id_subscription')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charge')),
    sa.UniqueConstraint('key', name=op.f('uq_charge_key'))
    )
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.create_index('ix_charge_account_id', ['account_id', 'id'], unique=False)
        batch_op.create_index('ix_charge_batch', ['batch'], unique=False)
        batch_op.create_index('ix_charge_contract_period', ['contract_id', 'period_start'], unique=False)

    op.create_table('usage_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.Column('ext_id', sa.String(length=100), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('sensor_type_id', sa.Integer(), nullable=True),
    sa.Column('value', core.models.base.Rate(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('subscription_id', sa.Integer(), nullable=True),
    sa.Column('charge_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', core.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'rated', 'rejected')", name=op.f('ck_usage_record_state')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_usage_record_account_id_account')),
    sa.ForeignKeyConstraint(['charge_id'], ['charge.id'], name=op.f('fk_usage_record_charge_id_charge')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_usage_record_subscription_id_subscription')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_record')),
    sa.UniqueConstraint('key', name=op.f('uq_usage_record_key'))
    )
    with op.batch_alter_table('usage_record', schema=None) as batch_op:
        batch_op.create_index('ix_usage_record_account_id', ['account_id', 'day'], unique=False)
        batch_op.create_index('ix_usage_record_state', ['state', 'id'], unique=False)

    # the unit every counter example uses (Carbon Billing's "pcs" is id 5)
    op.bulk_insert(sa.table("unit", sa.column("id", sa.Integer), sa.column("name", sa.String)),
                   [{"id": 5, "name": "pcs"}])


def downgrade() -> None:
    with op.batch_alter_table('usage_record', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_record_state')
        batch_op.drop_index('ix_usage_record_account_id')

    op.drop_table('usage_record')
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.drop_index('ix_charge_contract_period')
        batch_op.drop_index('ix_charge_batch')
        batch_op.drop_index('ix_charge_account_id')

    op.drop_table('charge')
    with op.batch_alter_table('tariff_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tariff_change_account_id'))

    op.drop_table('tariff_change')
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index('ix_subscription_service_state')
        batch_op.drop_index('ix_subscription_account_id')

    op.drop_table('subscription')
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_invoice_id'))

    op.drop_table('invoice_line')
    with op.batch_alter_table('block', schema=None) as batch_op:
        batch_op.drop_index('ix_block_open', sqlite_where=sa.text('lifted_at IS NULL'), postgresql_where=sa.text('lifted_at IS NULL'))

    op.drop_table('block')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_contract_id')

    op.drop_table('payment')
    op.drop_table('invoice')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index('uq_account_agent_login', sqlite_where=sa.text('trashed_at IS NULL'), postgresql_where=sa.text('trashed_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_account_tariff_id'))
        batch_op.drop_index('ix_account_login')
        batch_op.drop_index('ix_account_ext_id')
        batch_op.drop_index(batch_op.f('ix_account_contract_id'))

    op.drop_table('account')
    op.drop_table('tariff_service')
    op.drop_table('setup_token')
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_subscriber_id'))

    op.drop_table('contract')
    op.drop_table('service')
    with op.batch_alter_table('phone', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phone_number'))

    op.drop_table('phone')
    op.drop_table('operator')
    op.drop_table('number_counter')
    op.drop_table('manager')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_state')
        batch_op.drop_index('ix_delivery_pending', sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))
        batch_op.drop_index('ix_delivery_order', sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))

    op.drop_table('delivery')
    op.drop_table('unit')
    op.drop_table('tariff')
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriber_name')

    op.drop_table('subscriber')
    op.drop_table('sensor_type')
    op.drop_table('role')
    op.drop_table('number_plan')
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_index('ix_job_run_job')

    op.drop_table('job_run')
    with op.batch_alter_table('external_link', schema=None) as batch_op:
        batch_op.drop_index('ix_external_link_external')

    op.drop_table('external_link')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_account_id'))

    op.drop_table('event')
    with op.batch_alter_table('cdr_file', schema=None) as batch_op:
        batch_op.drop_index('ix_cdr_file_source')

    op.drop_table('cdr_file')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_object')

    op.drop_table('audit_log')
    op.drop_table('agent')
