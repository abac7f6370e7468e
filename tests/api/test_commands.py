from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from podium_shared.db.session import session_factory
from podium_shared.models.idempotency import IdempotencyKey
from podium_shared.models.operation import Operation
from podium_shared.models.user import Role
from sqlalchemy import select

from api.fixtures import ApiUser, user_in
from api.helpers import audit_rows, scale

COMMANDS = "/api/v1/commands"


def test_accepted_command_is_queued_and_audited(
    client: TestClient, operator: ApiUser, cluster: str, database_url: str
) -> None:
    r = client.post(
        COMMANDS, headers=operator.headers | {"X-Request-ID": "req-accept-1"}, json=scale(cluster)
    )
    assert r.status_code == 202, r.text
    op = r.json()
    assert op["status"] == "queued"
    assert op["kind"] == "scale"
    assert op["cluster"] == cluster
    assert op["namespace"] == "default"
    assert op["requested_by"] == operator.username
    assert op["params"] == {"namespace": "default", "name": "web", "replicas": 2}
    assert op["attempts"] == 0
    assert op["parent_id"] is None
    # Durable before the answer: the row is readable from another connection.
    got = client.get(f"/api/v1/operations/{op['id']}", headers=operator.headers)
    assert got.status_code == 200
    assert got.json()["id"] == op["id"]

    rows = audit_rows(database_url, actor=operator.username, action="command.scale")
    assert len(rows) == 1
    row = rows[0]
    assert (row.outcome, row.cluster, row.namespace) == ("accepted", cluster, "default")
    assert (row.resource_kind, row.resource_name) == ("deployment", "web")
    assert str(row.operation_id) == op["id"]
    assert row.request_id == "req-accept-1"
    assert row.role == "operator"


def test_idempotency_key_same_body_same_operation_other_body_409(
    client: TestClient, operator: ApiUser, cluster: str, database_url: str
) -> None:
    headers = operator.headers | {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = client.post(COMMANDS, headers=headers, json=scale(cluster))
    again = client.post(COMMANDS, headers=headers, json=scale(cluster))
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]

    other = client.post(COMMANDS, headers=headers, json=scale(cluster, replicas=5))
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"

    with session_factory(database_url)() as session:
        ops = session.scalars(select(Operation).where(Operation.requested_by == operator.username)).all()
        keys = session.scalars(select(IdempotencyKey).where(IdempotencyKey.actor == operator.username)).all()
    assert len(ops) == 1
    assert len(keys) == 1
    outcomes = [r.outcome for r in audit_rows(database_url, actor=operator.username, action="command.scale")]
    assert outcomes == ["accepted", "invalid"]
    # Keys are per user: another user's same key is a new operation.
    someone = client.post(COMMANDS, headers=headers | _auth(client, database_url), json=scale(cluster))
    assert someone.status_code == 202
    assert someone.json()["id"] != first.json()["id"]


def _auth(client: TestClient, database_url: str) -> dict[str, str]:
    return user_in(database_url, Role.operator).headers


def test_invalid_params_422_with_pydantic_errors_and_audited(
    client: TestClient, operator: ApiUser, cluster: str, database_url: str
) -> None:
    body = scale(cluster, replicas=-1)
    r = client.post(COMMANDS, headers=operator.headers, json=body)
    assert r.status_code == 422
    err = r.json()
    assert set(err) == {"code", "message", "details"}
    assert err["code"] == "invalid_params"
    assert any(e["loc"] == ["replicas"] for e in err["details"]["errors"])
    assert all("input" not in e for e in err["details"]["errors"])
    rows = audit_rows(database_url, actor=operator.username)
    assert [(a.action, a.outcome) for a in rows] == [("command.scale", "invalid")]
    assert rows[0].details["error"]["code"] == "invalid_params"


def test_unknown_kind_and_cluster_are_422(client: TestClient, operator: ApiUser, cluster: str) -> None:
    r = client.post(
        COMMANDS, headers=operator.headers, json={"kind": "nope", "cluster": cluster, "params": {}}
    )
    assert r.status_code == 422
    assert r.json()["code"] == "unknown_kind"
    assert "scale" in r.json()["details"]["known"]
    r = client.post(COMMANDS, headers=operator.headers, json=scale("no-such-cluster"))
    assert r.status_code == 422
    assert r.json()["code"] == "unknown_cluster"
    # A body that is not a command at all is FastAPI's 422, in the same shape.
    r = client.post(COMMANDS, headers=operator.headers, json={"kind": "scale"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid"
    assert r.json()["details"]["errors"][0]["loc"] == ["body", "cluster"]


def test_namespace_scoped_operator(
    client: TestClient, make_user: Callable[..., ApiUser], cluster: str, database_url: str
) -> None:
    scoped = make_user(Role.operator, namespaces=["team-a"])
    ok = client.post(COMMANDS, headers=scoped.headers, json=scale(cluster, namespace="team-a"))
    assert ok.status_code == 202, ok.text
    denied = client.post(COMMANDS, headers=scoped.headers, json=scale(cluster, namespace="team-b"))
    assert denied.status_code == 403
    assert denied.json()["code"] == "forbidden"
    rows = audit_rows(database_url, actor=scoped.username)
    assert [(r.outcome, r.namespace) for r in rows] == [("accepted", "team-a"), ("denied", "team-b")]


def test_apply_needs_admin(client: TestClient, operator: ApiUser, admin: ApiUser, cluster: str) -> None:
    body = {
        "kind": "apply",
        "cluster": cluster,
        "params": {
            "manifests": [
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"}}
            ]
        },
    }
    assert client.post(COMMANDS, headers=operator.headers, json=body).status_code == 403
    r = client.post(COMMANDS, headers=admin.headers, json=body)
    assert r.status_code == 202, r.text


def test_kinds_are_described_with_their_schema(client: TestClient, viewer: ApiUser) -> None:
    r = client.get("/api/v1/commands/kinds", headers=viewer.headers)
    assert r.status_code == 200, r.text
    kinds = {k["name"]: k for k in r.json()}
    assert {"scale", "label", "annotate", "delete", "apply", "bulk"} <= set(kinds)
    assert kinds["apply"]["min_role"] == "admin"
    assert kinds["bulk"]["expands"] is True
    assert set(kinds["scale"]["params_schema"]["required"]) == {"namespace", "name", "replicas"}
