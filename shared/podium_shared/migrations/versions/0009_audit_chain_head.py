"""audit: podium_audit_chain_head(lock_key), the chain's lock and its newest hash in one round trip

Revision ID: 0009
Revises: 0004

The first audit row of a transaction took two statements while the chain's lock was wanted: the lock,
then a read of the newest row's hash. They cannot be one SQL statement: in READ COMMITTED a statement's
snapshot is taken when it starts, before the lock is granted, and could miss the row the previous holder
committed while we waited. Inside a VOLATILE plpgsql function each statement takes a fresh snapshot, so the
read after `pg_advisory_xact_lock` sees every row committed before the lock was released to us.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None

APP_ROLE = "podium_app"


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION podium_audit_chain_head(lock_key bigint) RETURNS text
        LANGUAGE plpgsql VOLATILE
        AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock(lock_key);
            RETURN (SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1);
        END
        $$
        """
    )
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                GRANT EXECUTE ON FUNCTION podium_audit_chain_head(bigint) TO {APP_ROLE};
            END IF;
        END $$
        """  # noqa: S608 - constants only
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION podium_audit_chain_head(bigint)")
