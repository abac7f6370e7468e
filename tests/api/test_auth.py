from __future__ import annotations

import itertools
import os

from fastapi.testclient import TestClient
from podium_shared.auth import tokens
from podium_shared.models.user import Role

from api.fixtures import ApiSettings, ApiUser, create_app
from api.helpers import audit_rows, scale

_addresses = itertools.count(1)


def test_create_user_returns_token_once_and_it_works(
    client: TestClient, admin: ApiUser, database_url: str
) -> None:
    r = client.post(
        "/api/v1/users", headers=admin.headers, json={"username": f"{admin.username}-new", "role": "viewer"}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"username", "role", "namespaces", "token", "initial_password"}
    assert tokens.looks_like_token(body["token"])
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    # The generated console password is one-time: the user must change it at first sign-in.
    assert me.json() == {
        "username": body["username"],
        "role": "viewer",
        "namespaces": None,
        "must_change_password": True,
    }
    listed = client.get("/api/v1/users", headers=admin.headers).json()
    assert body["username"] in [u["username"] for u in listed]
    assert all("token" not in u for u in listed)
    actions = [(r.action, r.resource_name) for r in audit_rows(database_url, actor=admin.username)]
    assert actions == [("user.create", body["username"]), ("token.create", body["username"])]
    assert body["token"] not in str([r.details for r in audit_rows(database_url, actor=admin.username)])

    again = client.post(
        "/api/v1/users", headers=admin.headers, json={"username": body["username"], "role": "viewer"}
    )
    assert again.status_code == 409
    bad = client.post("/api/v1/users", headers=admin.headers, json={"username": "Bad Name", "role": "viewer"})
    assert bad.status_code == 422


def test_rotation_revokes_the_old_token_and_audits_failures_sparingly(
    client: TestClient, operator: ApiUser, database_url: str
) -> None:
    r = client.post(f"/api/v1/users/{operator.username}/tokens", headers=operator.headers)
    assert r.status_code == 201, r.text
    new = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/api/v1/me", headers=new).status_code == 200
    for _ in range(5):
        old = client.get("/api/v1/me", headers=operator.headers)
        assert old.status_code == 401
        assert old.json()["code"] == "unauthenticated"
        assert old.headers["www-authenticate"] == "Bearer"
    failures = audit_rows(database_url, actor=operator.username, action="auth.failed")
    assert len(failures) == 1  # a flood of bad attempts leaves one row per interval
    assert failures[0].details["reason"] == "token revoked"
    assert [r.action for r in audit_rows(database_url, actor=operator.username, action="token.rotate")] == [
        "token.rotate"
    ]


def test_only_admin_rotates_someone_elses_token(
    client: TestClient, operator: ApiUser, viewer: ApiUser, admin: ApiUser, database_url: str
) -> None:
    r = client.post(f"/api/v1/users/{viewer.username}/tokens", headers=operator.headers)
    assert r.status_code == 403
    assert audit_rows(database_url, actor=operator.username, action="token.rotate")[0].outcome == "denied"
    r = client.post(
        f"/api/v1/users/{viewer.username}/tokens",
        headers=admin.headers,
        json={"name": "ci", "revoke_existing": False},
    )
    assert r.status_code == 201
    assert client.get("/api/v1/me", headers=viewer.headers).status_code == 200  # kept


def test_garbage_and_missing_tokens(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        r = client.get("/api/v1/operations", headers=headers)
        assert r.status_code == 401
        assert set(r.json()) == {"code", "message", "details"}


def test_rate_limit_429_with_retry_after_and_audit(
    api_settings: ApiSettings, make_user: object, cluster: str, database_url: str
) -> None:
    user: ApiUser = make_user(Role.operator)  # type: ignore[operator]
    limited = api_settings.model_copy(update={"rate_limit_per_second": 0.2, "rate_limit_burst": 3})
    with TestClient(create_app(limited)) as c:
        codes = [
            c.post("/api/v1/commands", headers=user.headers, json=scale(cluster)).status_code
            for _ in range(4)
        ]
        assert codes == [202, 202, 202, 429]
        r = c.get("/api/v1/me", headers=user.headers)
        assert r.status_code == 429
        assert r.json()["code"] == "rate_limited"
        assert 1 <= int(r.headers["retry-after"]) <= 5
    rows = audit_rows(database_url, actor=user.username)
    assert [r.outcome for r in rows] == ["accepted"] * 3 + ["rate_limited"]  # the GET is not audited


def test_admin_updates_role_scope_and_disables(
    client: TestClient, admin: ApiUser, viewer: ApiUser, operator: ApiUser, database_url: str
) -> None:
    url = f"/api/v1/users/{viewer.username}"
    r = client.patch(url, headers=admin.headers, json={"role": "operator", "namespaces": ["team-a"]})
    assert r.status_code == 200, r.text
    assert (r.json()["role"], r.json()["namespaces"]) == ("operator", ["team-a"])
    assert client.get("/api/v1/me", headers=viewer.headers).json()["role"] == "operator"
    assert client.patch(url, headers=operator.headers, json={"role": "admin"}).status_code == 403
    assert client.patch(url, headers=admin.headers, json={"disabled": True}).status_code == 200
    assert client.get("/api/v1/me", headers=viewer.headers).status_code == 401
    own = client.patch(f"/api/v1/users/{admin.username}", headers=admin.headers, json={"role": "viewer"})
    assert own.status_code == 409
    assert own.json()["code"] == "self_lockout"
    assert client.patch("/api/v1/users/nobody-here", headers=admin.headers, json={}).status_code == 404
    actions = [(r.action, r.outcome) for r in audit_rows(database_url, actor=admin.username)]
    assert actions == [("user.update", "succeeded"), ("user.update", "succeeded"), ("user.update", "invalid")]


def test_unauthenticated_attempts_are_rate_limited_per_address(api_settings: ApiSettings) -> None:
    limited = api_settings.model_copy(update={"rate_limit_per_second": 0.2, "rate_limit_burst": 3})
    # An address of its own: buckets live in this worker's Redis for the whole session.
    address = f"10.{os.getpid() % 250}.{next(_addresses)}.7"
    with TestClient(create_app(limited), client=(address, 5000)) as c:
        codes = [c.get("/api/v1/me", headers={"Authorization": "Bearer wrong"}).status_code for _ in range(5)]
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]
