"""clusters.role_arn: the IAM role assumed for a cluster's AWS calls

Revision ID: 0008
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clusters", sa.Column("role_arn", sa.String(length=2048), nullable=True))


def downgrade() -> None:
    op.drop_column("clusters", "role_arn")
