from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from podium_shared.models.user import Role

from api.fixtures import ApiUser
from api.helpers import scale

COMMANDS = "/api/v1/commands"
OPS = "/api/v1/operations"


def test_keyset_pagination_walks_every_operation_once(
    client: TestClient, operator: ApiUser, cluster: str
) -> None:
    created = [
        client.post(COMMANDS, headers=operator.headers, json=scale(cluster, replicas=i)).json()["id"]
        for i in range(7)
    ]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"requested_by": operator.username, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get(OPS, headers=operator.headers, params=params).json()
        pages += 1
        seen += [op["id"] for op in page["items"]]
        # A command accepted between pages shows up on no later page and displaces nothing.
        if pages == 1:
            client.post(COMMANDS, headers=operator.headers, json=scale(cluster, replicas=99))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(created))  # newest first


def test_filters(client: TestClient, operator: ApiUser, cluster: str) -> None:
    op = client.post(COMMANDS, headers=operator.headers, json=scale(cluster)).json()
    client.post(
        COMMANDS,
        headers=operator.headers,
        json={
            "kind": "delete",
            "cluster": cluster,
            "params": {"namespace": "default", "kind": "pod", "name": "x"},
        },
    )
    client.post(f"{OPS}/{op['id']}/cancel", headers=operator.headers)

    def ids(**params: str) -> list[str]:
        r = client.get(OPS, headers=operator.headers, params={"cluster": cluster, **params})
        assert r.status_code == 200, r.text
        return [o["kind"] + ":" + o["status"] for o in r.json()["items"]]

    assert ids() == ["delete:queued", "scale:cancelled"]
    assert ids(kind="scale") == ["scale:cancelled"]
    assert ids(status="queued") == ["delete:queued"]
    assert ids(requested_by="nobody") == []


def test_bad_cursor_and_status_are_422(client: TestClient, viewer: ApiUser) -> None:
    r = client.get(OPS, headers=viewer.headers, params={"cursor": "not-a-cursor"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_cursor"
    r = client.get(OPS, headers=viewer.headers, params={"status": "exploded"})
    assert r.status_code == 422
    assert r.json()["details"]["errors"][0]["loc"] == ["query", "status"]


def test_scoped_viewer_sees_only_their_namespaces(
    client: TestClient, operator: ApiUser, make_user: Callable[..., ApiUser], cluster: str
) -> None:
    in_a = client.post(COMMANDS, headers=operator.headers, json=scale(cluster, namespace="team-a")).json()
    in_b = client.post(COMMANDS, headers=operator.headers, json=scale(cluster, namespace="team-b")).json()
    scoped = make_user(Role.viewer, namespaces=["team-a"])
    listed = client.get(OPS, headers=scoped.headers, params={"cluster": cluster}).json()["items"]
    assert [o["id"] for o in listed] == [in_a["id"]]
    assert client.get(f"{OPS}/{in_b['id']}", headers=scoped.headers).status_code == 404
    assert client.get(f"{OPS}/{in_a['id']}", headers=scoped.headers).status_code == 200


def test_unknown_operation_404(client: TestClient, viewer: ApiUser) -> None:
    r = client.get(f"{OPS}/00000000-0000-0000-0000-000000000000", headers=viewer.headers)
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
