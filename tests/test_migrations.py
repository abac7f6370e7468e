from __future__ import annotations

import psycopg
import pytest

from podium_shared.db.migrate import check


def test_models_and_migrations_agree(database_url: str) -> None:
    check(database_url)


def test_audit_table_rejects_update_and_delete(database_url: str) -> None:
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO audit_events (ts, actor, action, outcome, details, prev_hash, hash) "
            "VALUES (now(), 'tester', 'probe', 'ok', '{}', 'p', md5(random()::text)) RETURNING id"
        ).fetchone()
        assert row is not None
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE id = %s", (row[0],))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("DELETE FROM audit_events WHERE id = %s", (row[0],))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("TRUNCATE audit_events")
