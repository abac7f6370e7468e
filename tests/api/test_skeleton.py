from __future__ import annotations

from fastapi.testclient import TestClient

from api.fixtures import ApiUser


def test_healthz_and_request_id(client: TestClient) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["x-request-id"] == "abc-123"
    # An insane id (spaces, too long) is replaced by a generated one.
    r = client.get("/healthz", headers={"X-Request-ID": "x" * 200})
    assert len(r.headers["x-request-id"]) == 32


def test_me_and_unauthenticated(client: TestClient, operator: ApiUser) -> None:
    r = client.get("/api/v1/me", headers=operator.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "username": operator.username,
        "role": "operator",
        "namespaces": None,
        "must_change_password": False,
    }
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"
    assert set(r.json()) == {"code", "message", "details"}
