"""The per-process principal cache (podium_shared.auth.cache): answers come from memory only while the
auth epoch in Redis has not moved, and every change to a user or a token through SQLAlchemy moves it as it
commits, wherever it was made."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import FastAPI
from fastapi.testclient import TestClient
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_shared.auth import tokens
from podium_shared.auth.cache import EPOCH_KEY, bump_epoch
from podium_shared.auth.service import authenticate
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.models.user import ApiToken, Role, User
from redis import Redis
from sqlalchemy import select, update

from api.fixtures import ApiUser
from api.helpers import scale


def _epoch(app: FastAPI) -> Any:
    redis: Redis[bytes] = app.state.redis
    return redis.get(EPOCH_KEY)


def test_a_token_is_answered_from_the_cache_until_the_epoch_moves(
    client: TestClient, app: FastAPI, operator: ApiUser, database_url: str
) -> None:
    assert client.get("/api/v1/me", headers=operator.headers).status_code == 200
    # A revocation written outside SQLAlchemy does not move the epoch: the cached answer still counts
    # (the staleness docs/api.md states, at most the cache's TTL)...
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = %s", (tokens.digest(operator.token),)
        )
    assert client.get("/api/v1/me", headers=operator.headers).status_code == 200
    # ... until it moves.
    bump_epoch(app.state.settings.redis_url)
    assert client.get("/api/v1/me", headers=operator.headers).status_code == 401


def test_a_change_committed_elsewhere_is_seen_by_the_next_request(
    client: TestClient, operator: ApiUser, make_user: Any, cluster: str, database_url: str
) -> None:
    """As another API process, the CLI or a worker would: its own transaction, not through this app."""
    assert client.post("/api/v1/commands", headers=operator.headers, json=scale(cluster)).status_code == 202
    with unit_of_work(session_factory(database_url)) as session:
        user = session.scalars(select(User).where(User.username == operator.username)).one()
        user.role = Role.viewer
    assert client.post("/api/v1/commands", headers=operator.headers, json=scale(cluster)).status_code == 403

    other: ApiUser = make_user(Role.operator)
    assert client.get("/api/v1/me", headers=other.headers).status_code == 200
    with unit_of_work(session_factory(database_url)) as session:
        session.execute(update(User).where(User.username == other.username).values(disabled=True))
    assert client.get("/api/v1/me", headers=other.headers).status_code == 401


def test_using_a_token_does_not_move_the_epoch(
    client: TestClient, app: FastAPI, viewer: ApiUser, database_url: str
) -> None:
    with unit_of_work(session_factory(database_url)) as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == tokens.digest(viewer.token))
            .values(last_used_at=None)
        )
    before = _epoch(app)
    with unit_of_work(session_factory(database_url)) as session:
        authenticate(session, viewer.token)  # writes last_used_at: nothing a principal is made of
        used = session.scalars(
            select(ApiToken).where(ApiToken.token_hash == tokens.digest(viewer.token))
        ).one()
        assert used.last_used_at is not None
    assert _epoch(app) == before


def test_a_moved_epoch_sends_the_request_to_the_database_without_taking_a_second_rate_token(
    api_settings: ApiSettings, make_user: Any
) -> None:
    """A cached token's request takes its rate-limit token and reads the epoch in one round trip; when the
    epoch has moved the database decides, with the token already taken (not a second one)."""
    user: ApiUser = make_user(Role.operator)
    limited = api_settings.model_copy(update={"rate_limit_per_second": 0.01, "rate_limit_burst": 3})
    with TestClient(create_app(limited)) as c:
        assert c.get("/api/v1/me", headers=user.headers).status_code == 200  # database: 2 tokens left
        assert c.get("/api/v1/me", headers=user.headers).status_code == 200  # cache: 1 left
        bump_epoch(limited.redis_url)
        # Cache then database: one token between them, the last one. Taking two would refuse this one.
        assert c.get("/api/v1/me", headers=user.headers).status_code == 200
        assert c.get("/api/v1/me", headers=user.headers).status_code == 429


def test_a_cached_token_is_still_answered_after_redis_forgets_the_rate_limit_script(
    client: TestClient, app: FastAPI, operator: ApiUser
) -> None:
    """As after a Redis restart: the event loop's call finds no script by its SHA and sends the script."""
    assert client.get("/api/v1/me", headers=operator.headers).status_code == 200
    redis: Redis[bytes] = app.state.redis
    redis.script_flush()
    assert client.get("/api/v1/me", headers=operator.headers).status_code == 200
    assert client.get("/api/v1/me", headers=operator.headers).status_code == 200
