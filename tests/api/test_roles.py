"""Role x endpoint matrix: every forbidden combination answers 403 and leaves a `denied` audit row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from podium_shared.models.user import Role

from api.fixtures import ApiUser, cluster_in, user_in
from api.helpers import audit_rows, scale


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    path: str  # formatted with {cluster}, {op}, {user}, {spare} (a cluster without operations)
    body: Callable[[str], Any] | None
    min_role: Role


APPLY = {
    "manifests": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"}}
    ]
}

CALLS = [
    Call("scale", "POST", "/api/v1/commands", scale, Role.operator),
    Call(
        "apply",
        "POST",
        "/api/v1/commands",
        lambda c: {"kind": "apply", "cluster": c, "params": APPLY},
        Role.admin,
    ),
    Call("cancel", "POST", "/api/v1/operations/{op}/cancel", None, Role.operator),
    Call(
        "create user", "POST", "/api/v1/users", lambda c: {"username": f"u{c}", "role": "viewer"}, Role.admin
    ),
    Call("list users", "GET", "/api/v1/users", None, Role.admin),
    Call("update user", "PATCH", "/api/v1/users/{user}", lambda _c: {"namespaces": ["a"]}, Role.admin),
    Call("rotate other", "POST", "/api/v1/users/{user}/tokens", None, Role.admin),
    Call(
        "register cluster",
        "POST",
        "/api/v1/clusters",
        lambda c: {"name": f"x{c}", "kubeconfig_path": "/k", "context": "k"},
        Role.admin,
    ),
    Call("delete cluster", "DELETE", "/api/v1/clusters/{spare}", None, Role.admin),
    Call("verify audit", "GET", "/api/v1/audit/verify", None, Role.admin),
    Call("read operations", "GET", "/api/v1/operations", None, Role.viewer),
    Call("read audit", "GET", "/api/v1/audit", None, Role.viewer),
    Call("me", "GET", "/api/v1/me", None, Role.viewer),
]

MATRIX = [(call, role) for call in CALLS for role in Role]


@pytest.mark.parametrize(("call", "role"), MATRIX, ids=[f"{c.name}-{r.value}" for c, r in MATRIX])
def test_role_matrix(
    *, client: TestClient, call: Call, role: Role, cluster: str, admin: ApiUser, database_url: str
) -> None:
    user = user_in(database_url, role)
    target = user_in(database_url, Role.viewer)
    op = client.post("/api/v1/commands", headers=admin.headers, json=scale(cluster)).json()["id"]
    path = call.path.format(cluster=cluster, op=op, user=target.username, spare=cluster_in(database_url))
    kwargs: dict[str, Any] = {"headers": user.headers}
    if call.body is not None:
        kwargs["json"] = call.body(cluster)
    r = client.request(call.method, path, **kwargs)
    if role.at_least(call.min_role):
        assert r.status_code < 400, r.text
        return
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "forbidden"
    denied = [a for a in audit_rows(database_url, actor=user.username) if a.outcome == "denied"]
    assert len(denied) == 1, [(a.action, a.outcome) for a in audit_rows(database_url, actor=user.username)]
    assert denied[0].role == role.value
    assert denied[0].details["error"]["code"] == "forbidden"
