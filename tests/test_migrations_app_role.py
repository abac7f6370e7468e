"""With a `podium_app` role present, migrations give it DML everywhere but only INSERT/SELECT on the
audit log: the application cannot rewrite history even with the trigger switched off."""

from __future__ import annotations

import os

import psycopg
import pytest
from podium_shared.audit.service import record, verify
from podium_shared.db.migrate import upgrade
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedPostgres
from sqlalchemy import text


def test_app_role_may_only_append_to_the_audit_log(postgres: EmbeddedPostgres) -> None:
    admin_url = postgres.url.rsplit("/", 1)[0]
    name = f"approle_{os.getpid()}"
    postgres.ensure_database(name)
    with psycopg.connect(admin_url.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'podium_app'").fetchone():
            conn.execute("CREATE ROLE podium_app LOGIN")
    upgrade(f"{admin_url}/{name}")
    app_url = f"{admin_url.replace('podium@', 'podium_app@')}/{name}"

    with unit_of_work(session_factory(app_url)) as session:
        event = record(session, actor="app", action="probe", outcome="succeeded")
        session.execute(text("SELECT count(*) FROM operations"))
    with psycopg.connect(admin_url.replace("+psycopg", "") + f"/{name}", autocommit=True) as owner:
        owner.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
        try:
            with psycopg.connect(app_url.replace("+psycopg", ""), autocommit=True) as app:
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                    app.execute("UPDATE audit_events SET actor = 'mallory' WHERE id = %s", (event.id,))
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                    app.execute("DELETE FROM audit_events WHERE id = %s", (event.id,))
        finally:
            owner.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change")
    with session_factory(app_url)() as session:
        assert verify(session).ok
    session_factory(app_url).kw["bind"].dispose()  # a throwaway database: close its pool now
