"""WebSocket authentication failures of a known user are audited like REST ones, with the same flood
protection (one row per user per interval)."""

from __future__ import annotations

import itertools
import os

from fastapi.testclient import TestClient

from api.fixtures import ApiSettings, ApiUser, create_app
from api.helpers import audit_rows

_addresses = itertools.count(1)


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


def test_ws_token_guessing_spends_the_address_bucket_like_rest(api_settings: ApiSettings) -> None:
    # Otherwise the WebSocket would be an unthrottled way to guess tokens that REST refuses with 429.
    limited = api_settings.model_copy(update={"rate_limit_per_second": 0.2, "rate_limit_burst": 3})
    address = f"10.{os.getpid() % 250}.{200 + next(_addresses) % 50}.9"
    codes = []
    with TestClient(create_app(limited), client=(address, 5000)) as c:
        for _ in range(4):
            with c.websocket_connect("/api/v1/ws?token=wrong") as ws:
                codes.append(ws.receive_json()["code"])
        rest = c.get("/api/v1/me", headers={"Authorization": "Bearer wrong"})
    assert codes == ["unauthenticated"] * 3 + ["rate_limited"]
    assert rest.status_code == 429  # one bucket per address, whichever door the guesses came through
