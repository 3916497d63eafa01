"""jambox: the jambox_billing_event table (SGT's billing events as imported)

Revision ID: jambox_0001
Revises:
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

from core import Rate

revision = "jambox_0001"
down_revision = None
branch_labels = ("jambox",)
depends_on = "0003"


def upgrade() -> None:
    op.create_table(
        "jambox_billing_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sms_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("cust_number", sa.String(length=20), nullable=False),
        sa.Column("cust_external_id", sa.String(length=40), nullable=True),
        sa.Column("account_id", sa.String(length=20), nullable=False),
        sa.Column("selling_date", sa.Date(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("vat", Rate(), nullable=False),
        sa.Column("gross", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("b2b_net", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("report_id", sa.BigInteger(), nullable=True),
        sa.Column("package_id", sa.BigInteger(), nullable=True),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"],
                                name=op.f("fk_jambox_billing_event_agent_id_agent")),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"],
                                name=op.f("fk_jambox_billing_event_contract_id_contract")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"],
                                name=op.f("fk_jambox_billing_event_invoice_id_invoice")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jambox_billing_event")),
        sa.UniqueConstraint("sms_id", name=op.f("uq_jambox_billing_event_sms_id")),
    )
    op.create_index(op.f("ix_jambox_billing_event_selling_date"), "jambox_billing_event",
                    ["selling_date"])
    op.create_index(op.f("ix_jambox_billing_event_report_id"), "jambox_billing_event",
                    ["report_id"])
    op.create_index(op.f("ix_jambox_billing_event_invoice_id"), "jambox_billing_event",
                    ["invoice_id"])
    op.create_index("ix_jambox_billing_event_contract", "jambox_billing_event",
                    ["contract_id", "invoice_id", "selling_date"])


def downgrade() -> None:
    op.drop_table("jambox_billing_event")
