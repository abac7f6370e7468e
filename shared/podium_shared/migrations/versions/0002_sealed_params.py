"""operations.sealed_params (encrypted secret params)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("operations", sa.Column("sealed_params", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("operations", "sealed_params")
