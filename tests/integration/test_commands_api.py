"""The whole path through the REST API: POST /api/v1/commands → 202 → Celery worker → kubesim →
GET shows it succeeded → the audit log has its lifecycle and the chain verifies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from kubernetes import client as k8s
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_shared.auth.service import create_user
from podium_shared.db.session import unit_of_work
from podium_shared.models.user import Role
from podium_shared.operations import celery_app
from support.waiting import wait_until
from worker.fixtures import SIM_CLUSTER, Pipeline

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture(scope="module")
def api(pipeline: Pipeline) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    """A TestClient on the real app, with an operator's and an admin's headers."""
    settings = ApiSettings(
        **(pipeline.settings.model_dump() | {"rate_limit_per_second": 1000.0, "rate_limit_burst": 1000})
    )
    with unit_of_work(pipeline.sessions) as session:
        _, operator = create_user(session, "olivia", Role.operator)
        _, admin = create_user(session, "ada", Role.admin)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {operator}"}, {"Authorization": f"Bearer {admin}"}
    celery_app.configure(pipeline.settings)


def test_post_command_to_kubesim_and_back(
    api: tuple[TestClient, dict[str, str], dict[str, str]], kube: k8s.ApiClient, namespace: str
) -> None:
    client, headers, admin = api
    k8s.CoreV1Api(kube).create_namespaced_config_map(namespace, {"metadata": {"name": "cm"}})
    params = {"namespace": namespace, "kind": "configmap", "name": "cm", "labels": {"via": "api"}}
    body = {"kind": "label", "cluster": SIM_CLUSTER, "params": params}
    r = client.post("/api/v1/commands", json=body, headers=headers | {"Idempotency-Key": "k-1"})
    assert r.status_code == 202, r.text
    op_id = r.json()["id"]

    def finished() -> dict[str, object] | None:
        got = client.get(f"/api/v1/operations/{op_id}", headers=headers).json()
        return got if got["status"] in ("succeeded", "failed", "cancelled") else None

    done = wait_until(finished, 30, "the operation to finish")
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 1
    assert k8s.CoreV1Api(kube).read_namespaced_config_map("cm", namespace).metadata.labels == {"via": "api"}
    # The same key and body is the same operation, even after it ran.
    again = client.post("/api/v1/commands", json=body, headers=headers | {"Idempotency-Key": "k-1"})
    assert again.json()["id"] == op_id

    audit = client.get("/api/v1/audit", params={"resource": "configmap/cm"}, headers=admin).json()
    actions = [e["action"] for e in audit["items"] if e["operation_id"] == op_id]
    assert set(actions) >= {"command.label", "operation.running", "operation.succeeded"}
    verify = client.get("/api/v1/audit/verify", headers=admin).json()
    assert verify["ok"] is True
