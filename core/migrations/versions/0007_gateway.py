"""opening balances of imported contracts: a payment row of kind "imported"

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

Subscribers imported from another billing (core.import_subscribers) bring the balance
they had there. It becomes one row of the payment table of its own kind, "imported":
positive (money the subscriber had) or negative (a debt), so the ledger's identity
(balance = payments − charges) holds, statements open with it, and it is never counted
as money received nor put on an invoice. The payment table's check of amount and kind
lets that row in. Payment systems (core.gateways) need no table: their payments are
idempotent by (source, external_id) as every payment is.
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

OLD_CHECK = ("(amount > 0 AND kind IN ('payment', 'credit', 'promise') AND reverses_id IS NULL)"
             " OR (amount < 0 AND kind IN ('reversal', 'promise_end') "
             "AND reverses_id IS NOT NULL)")
NEW_CHECK = OLD_CHECK + " OR (amount <> 0 AND kind = 'imported' AND reverses_id IS NULL)"


def _check(text: str) -> None:
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payment_amount'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payment_amount'), sa.text(text))


def upgrade() -> None:
    _check(NEW_CHECK)


def downgrade() -> None:
    held = op.get_bind().scalar(sa.text("SELECT count(*) FROM payment WHERE kind = 'imported'"))
    if held:  # the ledger is never edited: undo the imports by corrections first
        raise RuntimeError(f"{held} opening balances are in the ledger; the schema cannot "
                           f"go back before revision 0007 while they are")
    _check(OLD_CHECK)
