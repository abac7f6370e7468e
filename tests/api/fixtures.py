"""API fixtures other test packages reuse: the app on real Postgres and Redis, a TestClient, users of
each role with their bearer tokens, and a registered cluster. To use them outside tests/api, import them
in that package's conftest.py:

    from api.fixtures import *  # noqa: F403  (admin, operator, viewer, make_user, app, client, cluster …)

    def test_x(client, operator, cluster):
        r = client.post("/api/v1/commands", headers=operator.headers, json={... "cluster": cluster})
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from podium_api.app import create_app
from podium_api.settings import ApiSettings
from podium_shared.auth.service import create_user
from podium_shared.clusters.service import register_cluster
from podium_shared.db.migrate import upgrade
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedPostgres
from podium_shared.models.user import Role
from podium_shared.settings import PodiumSettings

_counter = itertools.count()


def unique(prefix: str) -> str:
    """Names unique across tests and xdist workers sharing nothing but the naming scheme."""
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


@dataclass(frozen=True)
class ApiUser:
    username: str
    role: Role
    token: str
    namespaces: list[str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def api_settings(settings: PodiumSettings) -> ApiSettings:
    # Generous rate limits: tests that exercise the limiter build their own app with a small bucket.
    return ApiSettings(
        **(settings.model_dump() | {"rate_limit_per_second": 1000.0, "rate_limit_burst": 1000})
    )


@pytest.fixture
def app(api_settings: ApiSettings) -> FastAPI:
    return create_app(api_settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # raise_server_exceptions=False: a 500 must reach the test as the client would see it.
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def make_user(database_url: str) -> Callable[..., ApiUser]:
    """make_user(Role.operator, namespaces=["team-a"]) -> ApiUser with a fresh token."""

    def make_user_(role: Role, namespaces: list[str] | None = None) -> ApiUser:
        return user_in(database_url, role, namespaces)

    return make_user_


@pytest.fixture
def admin(make_user: Callable[..., ApiUser]) -> ApiUser:
    return make_user(Role.admin)


@pytest.fixture
def operator(make_user: Callable[..., ApiUser]) -> ApiUser:
    return make_user(Role.operator)


@pytest.fixture
def viewer(make_user: Callable[..., ApiUser]) -> ApiUser:
    return make_user(Role.viewer)


@pytest.fixture
def cluster(database_url: str) -> str:
    """A registered cluster name (its kubeconfig need not exist: no worker runs in API tests)."""
    return cluster_in(database_url)


def cluster_in(database_url: str) -> str:
    name = unique("c")
    with unit_of_work(session_factory(database_url)) as session:
        register_cluster(session, name, kubeconfig_path="/nonexistent/kubeconfig", context="test")
    return name


@pytest.fixture
def fresh_database_url(postgres: EmbeddedPostgres) -> Iterator[str]:
    """A database of its own, migrated from empty: for tests that need the whole audit chain to be
    theirs (verify, tampering) while other tests of this worker append to the shared one."""
    name = unique("podium_fresh").replace("-", "_")
    postgres.ensure_database(name)
    url = postgres.url.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    yield url
    dispose_engine(url)


def dispose_engine(url: str) -> None:
    """Close the pooled connections of a throwaway database's engine now: the engine cache evicts old
    engines, and a connection garbage-collected while open is a ResourceWarning (an error here)."""
    session_factory(url).kw["bind"].dispose()


@pytest.fixture
def fresh_settings(api_settings: ApiSettings, fresh_database_url: str) -> ApiSettings:
    return api_settings.model_copy(update={"database_url": fresh_database_url})


@pytest.fixture
def fresh_client(fresh_settings: ApiSettings) -> Iterator[TestClient]:
    with TestClient(create_app(fresh_settings), raise_server_exceptions=False) as test_client:
        yield test_client


def user_in(database_url: str, role: Role, namespaces: list[str] | None = None) -> ApiUser:
    name = unique(role.value)
    with unit_of_work(session_factory(database_url)) as session:
        _user, token = create_user(session, name, role, namespaces)
    return ApiUser(name, role, token, namespaces, {"Authorization": f"Bearer {token}"})
