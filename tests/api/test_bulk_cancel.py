from __future__ import annotations

from fastapi.testclient import TestClient
from podium_shared.db.session import session_factory
from podium_shared.models.operation import Operation, OperationStatus
from sqlalchemy import select

from api.fixtures import ApiSettings, ApiUser, create_app
from api.helpers import audit_rows, scale

COMMANDS = "/api/v1/commands"


def _bulk(cluster: str, n: int, namespace: str = "default") -> dict[str, object]:
    items = [
        {
            "kind": "label",
            "params": {"namespace": namespace, "kind": "pod", "name": f"p{i}", "labels": {"team": "a"}},
        }
        for i in range(n)
    ]
    return {"kind": "bulk", "cluster": cluster, "params": {"items": items, "concurrency": 3}}


def _children(database_url: str, parent_id: str) -> list[Operation]:
    with session_factory(database_url)() as session:
        return list(session.scalars(select(Operation).where(Operation.parent_id == parent_id)))


def test_bulk_expands_into_queued_children(
    client: TestClient, operator: ApiUser, cluster: str, database_url: str
) -> None:
    r = client.post(COMMANDS, headers=operator.headers, json=_bulk(cluster, 7))
    assert r.status_code == 202, r.text
    parent = r.json()
    assert parent["progress"] == {"total": 7, "succeeded": 0, "failed": 0, "cancelled": 0}
    assert parent["concurrency"] == 3
    assert parent["namespace"] == "default"
    children = _children(database_url, parent["id"])
    assert len(children) == 7
    assert {c.kind for c in children} == {"label"}
    assert {c.queue for c in children} == {"bulk"}
    assert {c.status for c in children} == {OperationStatus.queued}
    assert sorted(c.params["name"] for c in children) == sorted(f"p{i}" for i in range(7))
    listed = client.get(f"/api/v1/operations?parent_id={parent['id']}&limit=100", headers=operator.headers)
    assert len(listed.json()["items"]) == 7
    rows = audit_rows(database_url, actor=operator.username, action="command.bulk")
    assert len(rows) == 1
    assert rows[0].details["items"] == 7


def test_bulk_item_errors_name_the_items(client: TestClient, operator: ApiUser, cluster: str) -> None:
    body = _bulk(cluster, 4)
    body["params"]["items"][2]["params"]["name"] = "Not A Name"  # type: ignore[index]
    body["params"]["items"][3]["kind"] = "nope"  # type: ignore[index]
    r = client.post(COMMANDS, headers=operator.headers, json=body)
    assert r.status_code == 422, r.text
    message = str(r.json()["details"])
    assert "items[2]" in message
    assert "items[3]" in message
    assert "items[1]" not in message


def test_bulk_size_limit(api_settings: ApiSettings, operator: ApiUser, cluster: str) -> None:
    with TestClient(create_app(api_settings.model_copy(update={"max_bulk_items": 5}))) as small:
        r = small.post(COMMANDS, headers=operator.headers, json=_bulk(cluster, 6))
        assert r.status_code == 422
        assert r.json()["code"] == "bulk_too_large"
        assert r.json()["details"] == {"items": 6, "max_items": 5}
        assert small.post(COMMANDS, headers=operator.headers, json=_bulk(cluster, 5)).status_code == 202


def test_cancel_queued_operation(
    client: TestClient, operator: ApiUser, cluster: str, database_url: str
) -> None:
    op = client.post(COMMANDS, headers=operator.headers, json=scale(cluster)).json()
    r = client.post(f"/api/v1/operations/{op['id']}/cancel", headers=operator.headers)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "cancelled"
    assert r.json()["finished_at"] is not None
    again = client.post(f"/api/v1/operations/{op['id']}/cancel", headers=operator.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "already_finished"
    outcomes = [
        r.outcome for r in audit_rows(database_url, actor=operator.username, action="operation.cancel")
    ]
    assert outcomes == ["accepted", "invalid"]


def test_cancel_running_operation_requests_cancellation(
    client: TestClient, operator: ApiUser, cluster: str, database_url: str
) -> None:
    op = client.post(COMMANDS, headers=operator.headers, json=scale(cluster)).json()
    with session_factory(database_url).begin() as session:
        session.get_one(Operation, op["id"]).status = OperationStatus.running
    r = client.post(f"/api/v1/operations/{op['id']}/cancel", headers=operator.headers)
    assert r.status_code == 202
    assert (r.json()["status"], r.json()["cancel_requested"]) == ("running", True)


def test_cancel_bulk_cancels_children_not_started(
    client: TestClient, operator: ApiUser, cluster: str, database_url: str
) -> None:
    parent = client.post(COMMANDS, headers=operator.headers, json=_bulk(cluster, 5)).json()
    children = _children(database_url, parent["id"])
    # As the worker would have it: the parent running, one child done, one running.
    with session_factory(database_url).begin() as session:
        session.get_one(Operation, parent["id"]).status = OperationStatus.running
        session.get_one(Operation, children[0].id).status = OperationStatus.succeeded
        session.get_one(Operation, children[1].id).status = OperationStatus.running
    r = client.post(f"/api/v1/operations/{parent['id']}/cancel", headers=operator.headers)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["cancel_requested"] is True
    assert body["status"] == "running"  # a child still runs; the worker finalises the parent
    assert body["progress"] == {"total": 5, "succeeded": 1, "failed": 0, "cancelled": 3}
    statuses = sorted(c.status.value for c in _children(database_url, parent["id"]))
    assert statuses == ["cancelled", "cancelled", "cancelled", "running", "succeeded"]


def test_cancel_bulk_with_nothing_started_cancels_the_parent(
    client: TestClient, operator: ApiUser, cluster: str
) -> None:
    parent = client.post(COMMANDS, headers=operator.headers, json=_bulk(cluster, 3)).json()
    r = client.post(f"/api/v1/operations/{parent['id']}/cancel", headers=operator.headers)
    assert r.json()["status"] == "cancelled"
    assert r.json()["progress"]["cancelled"] == 3


def test_viewer_cannot_cancel(client: TestClient, operator: ApiUser, viewer: ApiUser, cluster: str) -> None:
    op = client.post(COMMANDS, headers=operator.headers, json=scale(cluster)).json()
    r = client.post(f"/api/v1/operations/{op['id']}/cancel", headers=viewer.headers)
    assert r.status_code == 403


def test_cancel_one_child_counts_on_the_running_parent(
    client: TestClient, operator: ApiUser, cluster: str, database_url: str
) -> None:
    parent = client.post(COMMANDS, headers=operator.headers, json=_bulk(cluster, 2)).json()
    first, second = sorted(_children(database_url, parent["id"]), key=lambda c: c.params["name"])
    with session_factory(database_url).begin() as session:
        session.get_one(Operation, parent["id"]).status = OperationStatus.running
        session.get_one(Operation, first.id).status = OperationStatus.succeeded
        session.get_one(Operation, parent["id"]).progress = {
            "total": 2,
            "succeeded": 1,
            "failed": 0,
            "cancelled": 0,
        }
    r = client.post(f"/api/v1/operations/{second.id}/cancel", headers=operator.headers)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "cancelled"
    done = client.get(f"/api/v1/operations/{parent['id']}", headers=operator.headers).json()
    assert done["progress"] == {"total": 2, "succeeded": 1, "failed": 0, "cancelled": 1}
    assert done["status"] == "failed"  # not every item succeeded, and the parent itself was not cancelled


def test_cancel_with_idempotency_key_replays(client: TestClient, operator: ApiUser, cluster: str) -> None:
    op = client.post(COMMANDS, headers=operator.headers, json=scale(cluster)).json()
    headers = operator.headers | {"Idempotency-Key": f"cancel-{op['id']}"}
    first = client.post(f"/api/v1/operations/{op['id']}/cancel", headers=headers)
    again = client.post(f"/api/v1/operations/{op['id']}/cancel", headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["status"] == "cancelled"
    other = client.post(COMMANDS, headers=operator.headers, json=scale(cluster)).json()
    reused = client.post(f"/api/v1/operations/{other['id']}/cancel", headers=headers)
    assert reused.status_code == 409
    assert reused.json()["code"] == "idempotency_key_reused"
