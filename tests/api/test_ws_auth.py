"""WebSocket authentication failures of a known user are audited like REST ones, with the same flood
protection (one row per user per interval)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.fixtures import ApiUser
from api.helpers import audit_rows


def test_ws_auth_failures_of_a_known_user_are_audited_sparingly(
    client: TestClient, admin: ApiUser, viewer: ApiUser, database_url: str
) -> None:
    assert client.patch(f"/api/v1/users/{viewer.username}", headers=admin.headers,
                        json={"disabled": True}).status_code == 200  # fmt: skip
    for _ in range(3):
        with client.websocket_connect(f"/api/v1/ws?token={viewer.token}") as ws:
            assert ws.receive_json()["code"] == "unauthenticated"
    failures = audit_rows(database_url, actor=viewer.username, action="auth.failed")
    assert len(failures) == 1
    assert failures[0].outcome == "denied"
    assert failures[0].details == {"reason": "user disabled", "path": "/api/v1/ws"}
    # REST shares the interval: the WebSocket's row already covers this user.
    assert client.get("/api/v1/me", headers=viewer.headers).status_code == 401
    assert len(audit_rows(database_url, actor=viewer.username, action="auth.failed")) == 1
