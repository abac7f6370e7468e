from __future__ import annotations

import psycopg
import pytest
from podium_shared.audit.service import record
from podium_shared.db.migrate import check
from podium_shared.db.session import session_factory, unit_of_work


def test_models_and_migrations_agree(database_url: str) -> None:
    check(database_url)


def test_audit_table_rejects_update_and_delete(database_url: str) -> None:
    # A properly chained row, so this worker's shared database still verifies for the tests after this one.
    with unit_of_work(session_factory(database_url)) as session:
        event = record(session, actor="tester", action="probe", outcome="succeeded")
    event_id = event.id  # known once the commit has written the row
    assert event_id is not None
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        row = (event_id,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE id = %s", (row[0],))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("DELETE FROM audit_events WHERE id = %s", (row[0],))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("TRUNCATE audit_events")
