"""Real services for the tests: Postgres and Redis from local server binaries (one of each per xdist
worker), a freshly migrated database per worker, and kubesim over HTTP. testcontainers would be the
choice where a container engine runs; none does on the machines this suite runs on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from podium_shared import domains
from podium_shared.db.migrate import upgrade
from podium_shared.embedded import EmbeddedPostgres, EmbeddedRedis
from podium_shared.settings import PodiumSettings

# The processes under test call this at start (create_app, the worker); tests that use kinds directly
# need the same registry.
domains.install()


@pytest.fixture(scope="session")
def infra_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("infra")


@pytest.fixture(scope="session")
def postgres(infra_dir: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(infra_dir / "postgres").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(postgres: EmbeddedPostgres) -> str:
    """A database migrated with Alembic (never create_all), shared by this worker's tests."""
    postgres.ensure_database("podium_test")
    url = postgres.url.rsplit("/", 1)[0] + "/podium_test"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_server(infra_dir: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(infra_dir / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def settings(database_url: str, redis_server: EmbeddedRedis, tmp_path: Path) -> PodiumSettings:
    return PodiumSettings(
        environment="test",
        database_url=database_url,
        redis_url=redis_server.url,
        kubeconfig=None,
    )


@pytest.fixture(autouse=True)
def _no_ambient_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests never fall back to a developer's real cluster or services.
    for var in ("KUBECONFIG", "DATABASE_URL", "REDIS_URL", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", os.environ.get("PODIUM_TEST_HOME", "/nonexistent-podium-home"))
