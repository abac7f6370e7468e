"""operations.sealed_params (encrypted secret params) and operations.namespace

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
    op.add_column("operations", sa.Column("namespace", sa.String(length=63), nullable=True))
    op.create_index(op.f("ix_operations_namespace"), "operations", ["namespace"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_operations_namespace"), table_name="operations")
    op.drop_column("operations", "namespace")
    op.drop_column("operations", "sealed_params")
