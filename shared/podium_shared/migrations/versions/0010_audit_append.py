"""audit: podium_audit_append(lock_key, rows), a transaction's audit rows chained and written in one call

Revision ID: 0010
Revises: 0009

A transaction's audit rows took two statements under the chain's lock: `podium_audit_chain_head` (the lock
and the newest hash), then the INSERT of rows whose hashes the writer had computed from that head. This
function does both in one call: it takes the lock, reads the newest hash (in its own snapshot, taken after
the lock was granted: see 0009), and hashes each row as SHA-256 over `hash_before || prev_hash ||
hash_after`, the row's canonical JSON cut around its prev_hash value by the writer
(`audit.chain.canonical_around_prev_hash`). The parts travel as base64 of their UTF-8 bytes, so the hash
does not depend on the database's encoding. `audit verify` recomputes every hash in Python from the stored
columns, so a function that hashed anything other than the canonical form would be caught there.

Rows are inserted in array order (their ids ascend with the chain) and come back as (id, prev_hash, hash)
in that order. `podium_audit_chain_head` stays for processes of the previous release that are still
running during an upgrade.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

APP_ROLE = "podium_app"
_COLUMNS = (
    "ts, actor, role, action, cluster, namespace, resource_kind, resource_name, outcome, operation_id,"
    " request_id, client_addr, details"
)


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION podium_audit_append(lock_key bigint, new_rows json)
        RETURNS TABLE (event_id bigint, event_prev_hash text, event_hash text)
        LANGUAGE plpgsql VOLATILE
        AS $$
        DECLARE
            prev text;
            prevs text[] := '{{}}';
            hashes text[] := '{{}}';
            part record;
        BEGIN
            PERFORM pg_advisory_xact_lock(lock_key);
            prev := coalesce((SELECT a.hash FROM audit_events a ORDER BY a.id DESC LIMIT 1), repeat('0', 64));
            FOR part IN
                SELECT decode(e.value->>'hash_before', 'base64') AS head,
                       decode(e.value->>'hash_after', 'base64') AS tail
                FROM json_array_elements(new_rows) WITH ORDINALITY AS e
                ORDER BY e.ordinality
            LOOP
                prevs := prevs || prev;
                prev := encode(sha256(part.head || convert_to(prev, 'UTF8') || part.tail), 'hex');
                hashes := hashes || prev;
            END LOOP;
            RETURN QUERY
            WITH written AS (
                INSERT INTO audit_events ({_COLUMNS}, prev_hash, hash)
                SELECT {", ".join(f"r.{c.strip()}" for c in _COLUMNS.split(","))},
                       prevs[r.ordinality], hashes[r.ordinality]
                FROM json_populate_recordset(NULL::audit_events, new_rows) WITH ORDINALITY AS r
                ORDER BY r.ordinality
                RETURNING audit_events.id, audit_events.prev_hash, audit_events.hash
            )
            SELECT w.id, w.prev_hash::text, w.hash::text FROM written w ORDER BY w.id;
        END
        $$
        """  # noqa: S608 - constants only
    )
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                GRANT EXECUTE ON FUNCTION podium_audit_append(bigint, json) TO {APP_ROLE};
            END IF;
        END $$
        """  # noqa: S608 - constants only
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION podium_audit_append(bigint, json)")
