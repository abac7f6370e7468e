from __future__ import annotations

import csv
import io
import json
import threading
from datetime import UTC, datetime

import psycopg
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from podium_shared.audit.chain import (
    GENESIS,
    PendingEvent,
    canonical,
    canonical_around_prev_hash,
    compute_hash,
)
from podium_shared.audit.service import record, verify
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.models.user import Role

from api.fixtures import ApiUser, cluster_in, user_in
from api.helpers import scale


def _populate(c: TestClient, database_url: str) -> tuple[ApiUser, ApiUser, str]:
    admin = user_in(database_url, Role.admin)
    operator = user_in(database_url, Role.operator)
    cluster = cluster_in(database_url)
    for replicas in range(3):
        assert (
            c.post(
                "/api/v1/commands", headers=operator.headers, json=scale(cluster, replicas=replicas)
            ).status_code
            == 202
        )
    c.post("/api/v1/users", headers=operator.headers, json={"username": "nope", "role": "admin"})  # denied
    return admin, operator, cluster


def test_verify_ok_then_tampering_is_found(fresh_client: TestClient, fresh_database_url: str) -> None:
    admin, operator, _ = _populate(fresh_client, fresh_database_url)
    r = fresh_client.get("/api/v1/audit/verify", headers=admin.headers)
    assert r.status_code == 200
    report = r.json()
    assert (report["ok"], report["checked"], report["broken_at"], report["reason"]) == (True, 4, None, None)
    newest = fresh_client.get("/api/v1/audit", headers=admin.headers, params={"limit": 1}).json()["items"][0]
    assert (report["head_id"], report["head_hash"]) == (newest["id"], newest["hash"])

    target = fresh_client.get(
        "/api/v1/audit", headers=admin.headers, params={"actor": operator.username, "outcome": "accepted"}
    ).json()["items"][1]
    raw = fresh_database_url.replace("+psycopg", "")
    with psycopg.connect(raw, autocommit=True) as conn:
        # The trigger rejects this for everyone; a superuser can switch it off, and verify still tells.
        conn.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
        try:
            conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE id = %s", (target["id"],))
        finally:
            conn.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change")
    broken = fresh_client.get("/api/v1/audit/verify", headers=admin.headers).json()
    assert broken["ok"] is False
    assert broken["broken_at"] == target["id"]
    assert "altered" in broken["reason"]

    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
        try:
            conn.execute(
                "UPDATE audit_events SET actor = %s WHERE id = %s", (operator.username, target["id"])
            )
            assert fresh_client.get("/api/v1/audit/verify", headers=admin.headers).json()["ok"] is True
            # Removing a row breaks the next row's link.
            conn.execute("DELETE FROM audit_events WHERE id = %s", (target["id"],))
        finally:
            conn.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change")
    gap = fresh_client.get("/api/v1/audit/verify", headers=admin.headers).json()
    assert gap["ok"] is False
    assert gap["broken_at"] > target["id"]
    assert "prev_hash" in gap["reason"]


def test_concurrent_writers_never_fork_the_chain(fresh_database_url: str) -> None:
    factory = session_factory(fresh_database_url)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait(timeout=10)
            for i in range(10):
                with unit_of_work(factory) as session:
                    record(session, actor=f"writer{n}", action="probe", outcome="succeeded", details={"i": i})
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    with factory() as session:
        result = verify(session)
    assert (result.ok, result.checked) == (True, 80)


# Values that JSON escapes, that are more than one UTF-8 byte, that look like the chain's own fields, or
# that hide the cut point's text inside a string: Postgres must hash exactly the bytes `verify` will.
_AWKWARD_DETAILS: list[dict[str, object]] = [
    {},
    {"name": "café ✓ 🚀 日本", "quote": 'say "hi"\\ \n\t\u0001'},
    {"prev_hash": "\u0001", "nested": {"prev_hash": "x", "z": [1, 2.5, None, True]}},
    {"text": '","prev_hash":"', "a": {"b": {"c": []}}},
    {"number": 10**18, "neg": -1, "float": 1e-7},
]


def test_the_database_hashes_what_verify_recomputes(fresh_database_url: str) -> None:
    factory = session_factory(fresh_database_url)
    written = []
    with unit_of_work(factory) as session:
        for n, details in enumerate(_AWKWARD_DETAILS):
            written.append(
                record(
                    session,
                    actor="hasher ✓",
                    action="probe",
                    outcome="succeeded",
                    resource_name=f"ünïcode-{n}",
                    request_id=f"r-{n}",
                    client_addr="::1",
                    details=details,
                )
            )
        assert all(e.id is None and e.hash == "" for e in written)  # nothing is written before the commit
    # One more transaction: its first row links to the previous transaction's last.
    with unit_of_work(factory) as session:
        written.append(record(session, actor="hasher", action="probe", outcome="succeeded"))
    assert [e.prev_hash for e in written[1:]] == [e.hash for e in written[:-1]]
    assert written[0].prev_hash == GENESIS
    assert all(e.hash == compute_hash(e) for e in written)
    assert [e.id for e in written] == sorted(e.id for e in written if e.id is not None)
    with factory() as session:
        result = verify(session)
    assert (result.ok, result.checked) == (True, len(written))


@given(
    details=st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=12),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
            ),
            max_leaves=6,
        ),
        max_size=4,
    ),
    name=st.none() | st.text(max_size=12),
    prev=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)
def test_the_cut_around_prev_hash_rebuilds_the_canonical_form(
    details: dict[str, object], name: str | None, prev: str
) -> None:
    event = PendingEvent(
        ts=datetime(2026, 12, 7, 18, 0, 0, 123456, tzinfo=UTC),
        actor="a",
        role=None,
        action="probe",
        cluster=None,
        namespace=None,
        resource_kind=None,
        resource_name=name,
        outcome="succeeded",
        operation_id=None,
        request_id=name,
        client_addr=None,
        details=details,
    )
    before, after = canonical_around_prev_hash(event)
    event.prev_hash = prev
    assert before + prev.encode() + after == canonical(event)


def test_list_filters_and_cursor(fresh_client: TestClient, fresh_database_url: str) -> None:
    admin, operator, cluster = _populate(fresh_client, fresh_database_url)
    h = admin.headers

    def items(**params: object) -> list[dict[str, object]]:
        r = fresh_client.get("/api/v1/audit", headers=h, params=params)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    assert [e["outcome"] for e in items(actor=operator.username)] == [
        "denied",
        "accepted",
        "accepted",
        "accepted",
    ]
    assert len(items(action="command.scale")) == 3
    assert len(items(action="command.")) == 3
    assert len(items(outcome="denied")) == 1
    assert len(items(resource="deployment/web")) == 3
    assert len(items(resource="Deployment/web")) == 3
    assert len(items(resource="web")) == 3
    assert len(items(cluster=cluster)) == 3
    newest = items()[0]
    assert items(since=newest["ts"])[0]["id"] == newest["id"]
    assert items(until=newest["ts"])[0]["id"] != newest["id"]

    ids: list[int] = []
    params: dict[str, object] = {"limit": 3}
    while True:
        page = fresh_client.get("/api/v1/audit", headers=h, params=params).json()
        ids += [e["id"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids)) == 4
    bad = fresh_client.get("/api/v1/audit", headers=h, params={"cursor": "abc"})
    assert bad.status_code == 422


def test_export_csv_and_jsonl(fresh_client: TestClient, fresh_database_url: str) -> None:
    admin, operator, _ = _populate(fresh_client, fresh_database_url)
    r = fresh_client.get(
        "/api/v1/audit/export", headers=admin.headers, params={"format": "jsonl", "actor": operator.username}
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [e["outcome"] for e in lines] == ["accepted", "accepted", "accepted", "denied"]  # oldest first
    assert lines[0]["details"]["params"]["replicas"] == 0

    r = fresh_client.get("/api/v1/audit/export", headers=admin.headers, params={"format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert all(len(row["hash"]) == 64 for row in rows)
    # Exports are audited too; an export shows the log as it was when it started, so this CSV holds the
    # JSONL export's record above but not its own.
    exports = [row for row in rows if row["action"] == "audit.export"]
    assert [(e["actor"], json.loads(e["details"])["format"]) for e in exports] == [(admin.username, "jsonl")]
    assert json.loads(exports[0]["details"])["filters"] == {"actor": operator.username}
    rows = [row for row in rows if row["action"] != "audit.export"]
    assert len(rows) == 4
    assert rows[0]["actor"] == operator.username
    assert json.loads(rows[0]["details"])["params"]["name"] == "web"
    assert rows[-1]["outcome"] == "denied"

    with unit_of_work(session_factory(fresh_database_url)) as session:
        record(session, actor="a", action="probe", outcome="succeeded", request_id="-2+3")
    r = fresh_client.get(
        "/api/v1/audit/export", headers=admin.headers, params={"format": "csv", "actor": "a"}
    )
    assert next(csv.DictReader(io.StringIO(r.text)))["request_id"] == "'-2+3"  # never a spreadsheet formula

    bad = fresh_client.get("/api/v1/audit/export", headers=admin.headers, params={"format": "xml"})
    assert bad.status_code == 422


def test_secrets_are_redacted_in_details(fresh_database_url: str) -> None:
    with unit_of_work(session_factory(fresh_database_url)) as session:
        event = record(
            session,
            actor="a",
            action="probe",
            outcome="succeeded",
            client_addr="testclient",  # not an address: dropped rather than failing the write
            details={
                "hf_token": "hf_abc",
                "nested": {"password": "p", "api_key": "k", "keep": "v"},
                "name": "n",
            },
        )
        assert event.client_addr is None
    assert event.details == {
        "hf_token": "***",
        "nested": {"password": "***", "api_key": "***", "keep": "v"},
        "name": "n",
    }
