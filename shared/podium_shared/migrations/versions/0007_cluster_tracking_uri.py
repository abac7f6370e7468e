"""clusters.mlflow_tracking_uri: a cluster's own MLflow tracking server (else the global one)

Revision ID: 0007
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clusters", sa.Column("mlflow_tracking_uri", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("clusters", "mlflow_tracking_uri")
