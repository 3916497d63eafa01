"""documents — templates, provider details, e-mail

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

(Placeholder reserved for helper "documents": replace this docstring with why the change is made.)
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
