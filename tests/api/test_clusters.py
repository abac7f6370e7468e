from __future__ import annotations

from fastapi.testclient import TestClient

from api.fixtures import ApiUser, unique
from api.helpers import audit_rows, scale


def test_register_and_delete_cluster(
    client: TestClient, admin: ApiUser, operator: ApiUser, database_url: str
) -> None:
    name = unique("reg")
    r = client.post(
        "/api/v1/clusters",
        headers=admin.headers,
        json={"name": name, "kubeconfig_path": "/etc/podium/kubeconfig", "context": "prod"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["context"] == "prod"
    assert (
        client.post(
            "/api/v1/clusters", headers=admin.headers, json={"name": name, "context": "x"}
        ).status_code
        == 409
    )
    bad = client.post("/api/v1/clusters", headers=admin.headers, json={"name": "Not_DNS", "context": "x"})
    assert bad.status_code == 422
    nothing = client.post("/api/v1/clusters", headers=admin.headers, json={"name": unique("n")})
    assert nothing.status_code == 422

    op = client.post("/api/v1/commands", headers=operator.headers, json=scale(name)).json()
    busy = client.delete(f"/api/v1/clusters/{name}", headers=admin.headers)
    assert busy.status_code == 409
    assert busy.json()["code"] == "cluster_busy"
    client.post(f"/api/v1/operations/{op['id']}/cancel", headers=operator.headers)
    assert client.delete(f"/api/v1/clusters/{name}", headers=admin.headers).status_code == 204
    assert client.delete(f"/api/v1/clusters/{name}", headers=admin.headers).status_code == 404
    actions = [(r.action, r.outcome) for r in audit_rows(database_url, actor=admin.username)]
    assert actions == [("cluster.register", "succeeded"), ("cluster.delete", "succeeded")]
