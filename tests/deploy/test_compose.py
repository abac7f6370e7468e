"""docker-compose.yml cannot run here (no container engine); a small schema check keeps it honest:
every service is buildable or pinned, starts only after what it needs is healthy, and gets its config."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PODIUM_SERVICES = {"kubesim", "migrate", "bootstrap", "api", "worker", "watcher"}
ALLOWED_KEYS = {"image", "build", "command", "environment", "volumes", "ports", "depends_on", "healthcheck",
                "restart"}  # fmt: skip
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return doc


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svcs: dict[str, dict[str, Any]] = compose["services"]
    return svcs


def test_the_whole_stack_is_there(services: dict[str, dict[str, Any]]) -> None:
    assert {"postgres", "redis"} | PODIUM_SERVICES == set(services)


def test_every_service_is_well_formed(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        assert set(svc) <= ALLOWED_KEYS, f"{name}: unknown keys {set(svc) - ALLOWED_KEYS}"
        image = svc["image"]
        assert ":" in image, f"{name}: unpinned image {image}"
        assert not image.endswith(":latest"), f"{name}: unpinned image {image}"
        assert isinstance(svc.get("command", []), list), f"{name}: command must be a list (no shell)"
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert cond["condition"] in CONDITIONS, name
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health, which has no check"
            if cond["condition"] == "service_completed_successfully":
                assert services[dep].get("restart") == "no", f"{dep} runs once; it must not restart"
        if "healthcheck" in svc:
            test = svc["healthcheck"]["test"]
            assert isinstance(test, list), name
            assert test[0] == "CMD", f"{name}: healthchecks run without a shell"


def test_podium_services_share_one_image_built_from_deploy(services: dict[str, dict[str, Any]]) -> None:
    images = {services[name]["image"] for name in PODIUM_SERVICES}
    assert len(images) == 1
    for name in PODIUM_SERVICES:
        assert services[name]["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    assert (ROOT / "deploy/Dockerfile").is_file()


def test_start_order(services: dict[str, dict[str, Any]]) -> None:
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["bootstrap"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("api", "worker", "watcher"):
        deps = services[name]["depends_on"]
        assert deps["bootstrap"]["condition"] == "service_completed_successfully", name
        for infra in ("postgres", "redis", "kubesim"):
            assert deps[infra]["condition"] == "service_healthy", name
    assert services["api"]["command"][0] == "api"
    assert "8000:8000" in services["api"]["ports"]
    assert "--beat" in services["worker"]["command"]


def test_podium_services_are_configured(services: dict[str, dict[str, Any]]) -> None:
    for name in PODIUM_SERVICES - {"kubesim"}:
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgres:" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["PODIUM_SECRET_KEY"]
    for name in ("bootstrap", "api", "worker", "watcher"):
        mount = services[name]["volumes"][0]
        host, target, mode = mount.split(":")
        assert (ROOT / host).is_file()
        assert target == services[name]["environment"]["KUBECONFIG"]
        assert mode == "ro"


def test_compose_kubeconfig_points_at_the_kubesim_service(services: dict[str, dict[str, Any]]) -> None:
    config = yaml.safe_load((ROOT / "deploy/compose/kubeconfig").read_text())
    port = services["kubesim"]["command"][services["kubesim"]["command"].index("--port") + 1]
    assert config["clusters"][0]["cluster"]["server"] == f"http://kubesim:{port}"
    assert config["current-context"] in {c["name"] for c in config["contexts"]}


def test_only_migrate_and_bootstrap_connect_as_the_table_owner(services: dict[str, dict[str, Any]]) -> None:
    pg = services["postgres"]["environment"]
    owner = urlsplit(services["migrate"]["environment"]["DATABASE_URL"])
    assert (owner.username, owner.password) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"])
    assert services["bootstrap"]["environment"]["DATABASE_URL"] == owner.geturl()
    for name in ("api", "worker", "watcher"):
        app = urlsplit(services[name]["environment"]["DATABASE_URL"])
        assert app.username == "podium_app", name
        assert app.path == owner.path, name
        assert app.password, name


def test_postgres_creates_the_app_role_on_first_start(services: dict[str, dict[str, Any]]) -> None:
    # The postgres image runs every *.sql in /docker-entrypoint-initdb.d once, on an empty volume.
    mounts = [m.split(":") for m in services["postgres"]["volumes"] if m.startswith("./")]
    init = [
        (host, target) for host, target, *_ in mounts if target.startswith("/docker-entrypoint-initdb.d/")
    ]
    assert len(init) == 1
    host, target = init[0]
    assert target.endswith(".sql")
    sql = (ROOT / host).read_text()
    app = urlsplit(services["api"]["environment"]["DATABASE_URL"])
    # The role the app services log in as, with the password their URL carries.
    assert f"CREATE ROLE {app.username} LOGIN PASSWORD '{app.password}';" in sql
