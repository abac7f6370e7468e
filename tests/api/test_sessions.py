"""Console sign-in over HTTP against real Postgres and Redis: the cookie and its flags, the CSRF check,
logout, password changes ending other sessions, one-time passwords, idle and absolute expiry, disabled
users, rate limits and audit rows (never with a password in them). Bearer tokens keep working."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from podium_shared.auth import passwords
from podium_shared.auth.service import get_user
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.models.base import utcnow
from podium_shared.models.console_session import ConsoleSession
from podium_shared.models.user import Role
from sqlalchemy import select, update

from api.fixtures import ApiSettings, ApiUser, create_app
from api.helpers import audit_rows

PASSWORD = "correct horse battery"
ORIGIN = {"Origin": "http://testserver"}
_addresses = itertools.count(1)


@pytest.fixture
def with_password(database_url: str, make_user: Callable[..., ApiUser]) -> Callable[..., ApiUser]:
    def make(role: Role = Role.operator, *, must_change: bool = False) -> ApiUser:
        user = make_user(role)
        with unit_of_work(session_factory(database_url)) as s:
            row = get_user(s, user.username)
            assert row is not None
            row.password_hash = passwords.hash_password(PASSWORD)
            row.must_change_password = must_change
        return user

    return make


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password}, headers=ORIGIN)
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


def test_login_sets_a_strict_httponly_cookie_and_stores_only_its_hash(
    client: TestClient, with_password: Callable[..., ApiUser], database_url: str
) -> None:
    user = with_password(Role.viewer)
    r = client.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["user"] == {
        "username": user.username,
        "role": "viewer",
        "namespaces": None,
        "must_change_password": False,
    }
    cookie_header = r.headers["set-cookie"]
    assert "podium_session=" in cookie_header
    for flag in ("HttpOnly", "SameSite=strict", "Path=/"):
        assert flag.lower() in cookie_header.lower()
    assert "secure" not in cookie_header.lower()  # plain http and no https public URL
    value = client.cookies["podium_session"]
    with session_factory(database_url)() as s:
        hashes = set(s.scalars(select(ConsoleSession.session_hash)))
    assert value not in hashes
    assert len(value) >= 43
    # The cookie authenticates reads; the session endpoint hands the same CSRF token back.
    assert client.get("/api/v1/me").json()["username"] == user.username
    assert client.get("/api/v1/auth/session").json()["csrf_token"] == body["csrf_token"]
    assert audit_rows(database_url, actor=user.username, action="auth.login")[-1].outcome == "succeeded"


def test_the_cookie_is_secure_when_the_public_url_is_https(
    api_settings: ApiSettings, with_password: Callable[..., ApiUser]
) -> None:
    user = with_password()
    cfg = api_settings.model_copy(update={"public_url": "https://podium.example.com"})
    with TestClient(create_app(cfg)) as c:
        r = c.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert "secure" in r.headers["set-cookie"].lower()


def test_wrong_password_and_unknown_user_get_the_same_answer_and_are_audited(
    client: TestClient, with_password: Callable[..., ApiUser], database_url: str
) -> None:
    user = with_password()
    wrong = client.post("/api/v1/auth/login", json={"username": user.username, "password": "nope nope nope"})
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody-here", "password": PASSWORD})
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert r.json()["code"] == "invalid_credentials"
        assert r.json()["message"] == "Wrong username or password."
        assert "podium_session" not in r.headers.get("set-cookie", "")
    rows = audit_rows(database_url, actor=user.username, action="auth.failed")
    assert rows[-1].details == {"reason": "wrong password", "path": "/api/v1/auth/login"}
    assert rows[-1].outcome == "denied"


def test_cookie_mutations_need_origin_and_csrf_token_but_bearer_needs_neither(
    client: TestClient, with_password: Callable[..., ApiUser], cluster: str
) -> None:
    admin = with_password(Role.admin)
    csrf = login(client, admin.username)
    body = {"username": f"u-{os.getpid()}-{next(_addresses)}", "role": "viewer"}
    no_token = client.post("/api/v1/users", json=body, headers=ORIGIN)
    foreign = client.post(
        "/api/v1/users", json=body, headers={"Origin": "https://evil.example", "X-CSRF-Token": csrf}
    )
    no_origin = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": csrf})
    for r in (no_token, foreign, no_origin):
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "csrf_failed"
    ok = client.post("/api/v1/users", json=body, headers={**ORIGIN, "X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text
    # A bearer token wins over a cookie and needs no CSRF token (the CLI).
    other = {"username": body["username"] + "-b", "role": "viewer"}
    assert client.post("/api/v1/users", json=other, headers=admin.headers).status_code == 201


def test_logout_revokes_the_session(client: TestClient, with_password: Callable[..., ApiUser]) -> None:
    user = with_password()
    csrf = login(client, user.username)
    cookie = client.cookies["podium_session"]
    r = client.post("/api/v1/auth/logout", headers={**ORIGIN, "X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert 'podium_session=""' in r.headers["set-cookie"] or "max-age=0" in r.headers["set-cookie"].lower()
    client.cookies.set("podium_session", cookie)  # a copy kept by someone else stops working too
    gone = client.get("/api/v1/me")
    assert gone.status_code == 401
    assert gone.json()["code"] == "session_expired"
    assert client.get("/api/v1/auth/session").status_code == 401


def test_one_time_password_must_be_changed_and_changing_ends_other_sessions(
    api_settings: ApiSettings, client: TestClient, admin: ApiUser, database_url: str
) -> None:
    name = f"new-{os.getpid()}-{next(_addresses)}"
    created = client.post("/api/v1/users", headers=admin.headers, json={"username": name, "role": "operator"})
    initial = created.json()["initial_password"]
    assert isinstance(initial, str)
    assert len(initial) >= 10
    with TestClient(create_app(api_settings)) as first, TestClient(create_app(api_settings)) as second:
        csrf = login(first, name, initial)
        login(second, name, initial)
        assert first.get("/api/v1/auth/session").json()["user"]["must_change_password"] is True
        blocked = first.get("/api/v1/clusters")
        assert blocked.status_code == 403
        assert blocked.json()["code"] == "password_change_required"
        new = "a much better password"
        send = {**ORIGIN, "X-CSRF-Token": csrf}
        weak = first.post(
            "/api/v1/auth/password", json={"current_password": initial, "new_password": "short"}, headers=send
        )
        assert weak.status_code == 422
        wrong = first.post(
            "/api/v1/auth/password",
            json={"current_password": "not it at all", "new_password": new},
            headers=send,
        )
        assert wrong.status_code == 403
        assert wrong.json()["code"] == "wrong_password"
        changed = first.post("/api/v1/auth/password", json={"current_password": initial, "new_password": new},
                             headers={**ORIGIN, "X-CSRF-Token": csrf})  # fmt: skip
        assert changed.status_code == 204, changed.text
        assert first.get("/api/v1/clusters").status_code == 200
        assert first.get("/api/v1/me").json()["must_change_password"] is False
        assert second.get("/api/v1/me").status_code == 401  # the other browser is signed out
    # Passwords appear in no audit row.
    for row in audit_rows(database_url, actor=admin.username) + audit_rows(database_url, actor=name):
        assert initial not in str(row.details)
        assert new not in str(row.details)


def test_admin_reset_gives_a_one_time_password_and_ends_sessions(
    client: TestClient, admin: ApiUser, with_password: Callable[..., ApiUser], api_settings: ApiSettings
) -> None:
    user = with_password()
    with TestClient(create_app(api_settings)) as browser:
        login(browser, user.username)
        r = client.post(f"/api/v1/users/{user.username}/password", headers=admin.headers)
        assert r.status_code == 200
        one_time = r.json()["initial_password"]
        assert browser.get("/api/v1/me").status_code == 401
        login(browser, user.username, one_time)
        assert browser.get("/api/v1/me").json()["must_change_password"] is True
    chosen = client.post(f"/api/v1/users/{user.username}/password", headers=admin.headers,
                         json={"password": "chosen by the admin"})  # fmt: skip
    assert chosen.json() == {"initial_password": None}
    assert client.post("/api/v1/users/nobody-x/password", headers=admin.headers).status_code == 404
    assert client.post(f"/api/v1/users/{user.username}/password", headers=user.headers).status_code == 403


@pytest.mark.parametrize("column", ["last_seen_at", "expires_at"])
def test_idle_and_absolute_expiry(
    client: TestClient, with_password: Callable[..., ApiUser], database_url: str, column: str
) -> None:
    user = with_password()
    login(client, user.username)
    assert client.get("/api/v1/me").status_code == 200
    # Move the session's clock instead of waiting: idle longer than the timeout, or past its end.
    past = utcnow() - timedelta(seconds=2 * 3600 + 1)
    with unit_of_work(session_factory(database_url)) as s:
        row = get_user(s, user.username)
        assert row is not None
        s.execute(update(ConsoleSession).where(ConsoleSession.user_id == row.id).values({column: past}))
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.json()["code"] == "session_expired"


def test_disabling_a_user_ends_their_sessions(
    client: TestClient, admin: ApiUser, with_password: Callable[..., ApiUser], api_settings: ApiSettings
) -> None:
    user = with_password()
    with TestClient(create_app(api_settings)) as browser:
        login(browser, user.username)
        client.patch(f"/api/v1/users/{user.username}", headers=admin.headers, json={"disabled": True})
        assert browser.get("/api/v1/me").status_code == 401
        refused = browser.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_credentials"


def test_login_attempts_are_rate_limited_per_user_and_per_address(
    api_settings: ApiSettings, with_password: Callable[..., ApiUser]
) -> None:
    user = with_password()
    # Refills too slow to matter during the test: the counts below are exact.
    cfg = api_settings.model_copy(
        update={
            "login_user_burst": 3,
            "login_user_per_minute": 0.01,
            "login_address_burst": 6,
            "login_address_per_minute": 0.01,
        }
    )
    address = f"10.{os.getpid() % 250}.{next(_addresses) % 250}.7"
    with TestClient(create_app(cfg), client=(address, 5000)) as c:
        codes = [
            c.post(
                "/api/v1/auth/login", json={"username": user.username, "password": "wrong wrong"}
            ).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        # The right password does not get through a spent bucket either.
        late = c.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
        assert late.status_code == 429
        assert "retry-after" in late.headers
        # Other names from the same address: 5 of the address's 6 attempts are spent, one is left.
        other = [c.post("/api/v1/auth/login", json={"username": f"x{i}", "password": "p"}).status_code
                 for i in range(2)]  # fmt: skip
        assert other == [401, 429]


def test_websocket_takes_the_cookie_only_from_an_allowed_origin(
    client: TestClient, with_password: Callable[..., ApiUser]
) -> None:
    user = with_password(Role.viewer)
    login(client, user.username)
    with client.websocket_connect("/api/v1/ws", headers={"Origin": "https://evil.example"}) as ws:
        refused = ws.receive_json()
    assert refused["type"] == "error"
    assert refused["code"] == "csrf_failed"
    with client.websocket_connect("/api/v1/ws", headers=ORIGIN) as ws:
        ws.send_json({"type": "subscribe", "id": "s1", "cluster": "no-such-cluster", "topic": "pods"})
        answer = ws.receive_json()
    # Authenticated: the answer is about the subscription, not about who we are.
    assert answer["type"] == "error", answer
    assert answer["code"] != "unauthenticated", answer
