"""The accept route's fast lane (podium_api.fastaccept): a well-formed command is answered without the
route; anything else reaches the route with its body intact and is answered exactly as the route answers
it, before any rate-limit token or audit row is spent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from podium_api.app import create_app
from podium_api.fastaccept import AcceptFastLane
from podium_api.settings import ApiSettings
from podium_shared.auth.cache import PrincipalCache
from podium_shared.db.session import session_factory
from podium_shared.models.operation import Operation
from starlette.types import Message, Receive, Scope, Send

from api.fixtures import ApiUser
from api.helpers import audit_rows, scale

COMMANDS = "/api/v1/commands"


class _Route:
    """Stands in for everything the lane would hand a request to; records what reaches it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = []
        while True:
            message: Message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        self.bodies.append(b"".join(chunks))
        await send({"type": "http.response.start", "status": 299, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def route() -> _Route:
    return _Route()


@pytest.fixture
async def lane(app: FastAPI, route: _Route, api_settings: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The lane in front of the recorder, with the real app's state (its caches, writer and handlers)."""
    inner = AcceptFastLane(route, path=COMMANDS, max_body_bytes=api_settings.max_body_bytes)

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        await inner({**scope, "app": app, "state": {"request_id": "lane-test"}}, receive, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://api") as client:
        yield client
    app.state.group_commit.close()
    for connection in app.state.async_redis.values():
        await connection.aclose()


async def test_a_well_formed_command_is_answered_by_the_lane(
    lane: httpx.AsyncClient, route: _Route, operator: ApiUser, cluster: str, database_url: str
) -> None:
    for replicas in (2, 3):  # the first through the database, the second from the principal cache
        r = await lane.post(COMMANDS, json=scale(cluster, replicas=replicas), headers=operator.headers)
        assert r.status_code == 202, r.text
        assert r.headers["content-type"] == "application/json"
        op = r.json()
        assert (op["kind"], op["status"], op["params"]["replicas"]) == ("scale", "queued", replicas)
        with session_factory(database_url)() as session:
            assert session.get(Operation, op["id"]) is not None
    assert route.bodies == []
    accepted = audit_rows(database_url, actor=operator.username, action="command.scale")
    assert [row.outcome for row in accepted] == ["accepted", "accepted"]
    assert accepted[0].request_id == "lane-test"


async def test_a_refusal_is_answered_by_the_apps_error_handler_and_audited(
    lane: httpx.AsyncClient, route: _Route, viewer: ApiUser, cluster: str, database_url: str
) -> None:
    r = await lane.post(COMMANDS, json=scale(cluster), headers=viewer.headers)
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert route.bodies == []
    assert [row.outcome for row in audit_rows(database_url, actor=viewer.username)] == ["denied"]


async def _chunked(body: bytes) -> AsyncIterator[bytes]:
    yield body[:5]
    yield body[5:]


_VALID = json.dumps(scale("some-cluster")).encode()
_JSON = {"content-type": "application/json"}
# What the lane leaves to the route: (headers, body) as sent.
FALLBACKS: dict[str, tuple[Any, bytes]] = {
    "not JSON": (_JSON, b'{"kind": "scale",'),
    "not a command": (_JSON, b'{"kind": "scale"}'),
    "a JSON array": (_JSON, b"[1, 2]"),
    "another content type": ({"content-type": "text/plain"}, _VALID),
    "a bad idempotency key": ({**_JSON, "idempotency-key": "has space"}, _VALID),
    "two idempotency keys": ([("content-type", "application/json"), ("idempotency-key", "a"),
                              ("idempotency-key", "b")], _VALID),
    "a body over the limit": (_JSON, b" " * 2_000_000 + _VALID),
}  # fmt: skip


@pytest.mark.parametrize("case", FALLBACKS, ids=list(FALLBACKS))
async def test_anything_else_reaches_the_route_with_its_body(
    lane: httpx.AsyncClient, route: _Route, operator: ApiUser, case: str, database_url: str
) -> None:
    headers, body = FALLBACKS[case]
    headers = httpx.Headers(headers)
    headers["authorization"] = operator.headers["Authorization"]
    r = await lane.post(COMMANDS, content=body, headers=headers)
    assert r.status_code == 299
    assert route.bodies == [body]
    assert audit_rows(database_url, actor=operator.username) == []  # nothing decided, nothing audited


async def test_a_chunked_body_and_other_routes_reach_the_app(
    lane: httpx.AsyncClient, route: _Route, operator: ApiUser
) -> None:
    r = await lane.post(COMMANDS, content=_chunked(_VALID), headers={**_JSON, **operator.headers})
    assert r.status_code == 299
    assert (await lane.get(COMMANDS, headers=operator.headers)).status_code == 299
    assert (await lane.post(f"{COMMANDS}/kinds", content=_VALID, headers=_JSON)).status_code == 299
    assert route.bodies == [_VALID, b"", _VALID]


def test_through_the_app_the_route_answers_what_the_lane_passes_on(
    client: TestClient, operator: ApiUser, cluster: str
) -> None:
    """The whole app: the same answers as the route alone gives (422 with the field's location, the 413 of
    the body limit, a chunked command accepted), and the lane's own answers carry the request id."""
    headers = {**operator.headers, **_JSON}
    r = client.post(COMMANDS, content=b'{"kind": "scale",', headers=headers)
    assert r.status_code == 422
    assert r.json()["code"] == "invalid"
    r = client.post(COMMANDS, json={"kind": "scale"}, headers=operator.headers)
    assert r.status_code == 422
    assert ["body", "cluster"] in [e["loc"] for e in r.json()["details"]["errors"]]
    r = client.post(
        COMMANDS, json=scale(cluster), headers={**operator.headers, "Idempotency-Key": "has space"}
    )
    assert r.status_code == 422
    r = client.post(COMMANDS, content=b" " * 2_000_000, headers=headers)
    assert r.status_code == 413
    body = json.dumps(scale(cluster)).encode()
    r = client.post(COMMANDS, content=iter([body[:7], body[7:]]), headers=headers)
    assert r.status_code == 202, r.text
    r = client.post(COMMANDS, json=scale(cluster), headers={**operator.headers, "X-Request-ID": "mine-1"})
    assert r.status_code == 202
    assert r.headers["x-request-id"] == "mine-1"


def test_the_lane_keeps_the_rate_limit(api_settings: ApiSettings, operator: ApiUser, cluster: str) -> None:
    limited = api_settings.model_copy(update={"rate_limit_per_second": 0.01, "rate_limit_burst": 2})
    with TestClient(create_app(limited)) as c:
        codes = [c.post(COMMANDS, json=scale(cluster), headers=operator.headers) for _ in range(3)]
    assert [r.status_code for r in codes] == [202, 202, 429]
    assert codes[2].json()["code"] == "rate_limited"
    assert int(codes[2].headers["retry-after"]) >= 1


def test_a_deleted_cluster_is_refused_from_the_next_command_on(  # noqa: PLR0917 - fixtures as parameters
    client: TestClient, app: FastAPI, operator: ApiUser, admin: ApiUser, cluster: str, database_url: str
) -> None:
    """The process remembers the clusters it found registered (no read per group commit) only while the
    auth epoch stands; deleting a cluster moves it, so the very next command is checked and refused."""
    for replicas in (1, 2):  # the second one with a cached principal: the cluster is remembered
        r = client.post(COMMANDS, json=scale(cluster, replicas=replicas), headers=operator.headers)
        assert r.status_code == 202, r.text
        assert client.post(f"/api/v1/operations/{r.json()['id']}/cancel", headers=admin.headers).is_success
    assert app.state.known_clusters.seen(cluster, PrincipalCache(app.state.redis).epoch() or b"")
    assert client.delete(f"/api/v1/clusters/{cluster}", headers=admin.headers).status_code == 204
    r = client.post(COMMANDS, json=scale(cluster, replicas=3), headers=operator.headers)
    assert r.status_code == 422
    assert r.json()["code"] == "unknown_cluster"
    assert [
        row.outcome for row in audit_rows(database_url, actor=operator.username, action="command.scale")
    ] == [
        "accepted",
        "accepted",
        "invalid",
    ]
