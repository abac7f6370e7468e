"""least-privilege grants for the application role

Revision ID: 0003
Revises: 0002

Podium's processes may connect as a role that does not own the tables (deploy/: the migration Job runs as
the owner, api/worker/watcher as `podium_app`). When that role exists, it gets ordinary DML on every table
but only INSERT and SELECT on the audit log, so history cannot be rewritten even without the trigger.
Later migrations that add tables grant on them the same way.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APP_ROLE = "podium_app"
_DML_TABLES = ("users", "api_tokens", "clusters", "operations", "idempotency_keys")


def upgrade() -> None:
    tables = ", ".join(_DML_TABLES)
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {APP_ROLE};
                GRANT SELECT, INSERT ON audit_events TO {APP_ROLE};
                REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM {APP_ROLE};
                GRANT SELECT ON alembic_version TO {APP_ROLE};
            END IF;
        END $$
        """
    )


def downgrade() -> None:
    tables = ", ".join((*_DML_TABLES, "audit_events", "alembic_version"))
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                REVOKE ALL ON {tables} FROM {APP_ROLE};
            END IF;
        END $$
        """
    )
