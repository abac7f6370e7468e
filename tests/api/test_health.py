from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from redis import Redis

from api.fixtures import ApiSettings, create_app


def test_readyz_reports_each_check(api_settings: ApiSettings) -> None:
    # A Redis database of its own: heartbeats left by worker tests in this process must not leak in.
    url = api_settings.redis_url.rsplit("/", 1)[0] + "/15"
    redis = Redis.from_url(url)
    redis.flushdb()
    with TestClient(create_app(api_settings.model_copy(update={"redis_url": url}))) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["code"] == "not_ready"
        checks = body["details"]["checks"]
        assert checks["postgres"]["ok"] is True
        assert checks["redis"]["ok"] is True
        assert checks["worker"]["ok"] is False
        assert checks["watcher"]["ok"] is False
        assert "worker" in body["message"]

        now = datetime.now(UTC).isoformat()
        redis.set("podium:heartbeat:worker:host-1", now, ex=30)
        redis.set("podium:heartbeat:watcher:w1", now, ex=30)
        r = c.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "ready"
        assert r.json()["checks"]["worker"] == {"ok": True, "count": 1}
    redis.flushdb()
    redis.close()


def test_readyz_when_redis_is_down(api_settings: ApiSettings) -> None:
    with TestClient(create_app(api_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    checks = r.json()["details"]["checks"]
    assert checks["redis"]["ok"] is False
    assert checks["postgres"]["ok"] is True


def test_openapi_docs_served(client: TestClient) -> None:
    assert client.get("/api/v1/docs").status_code == 200
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/commands" in spec["paths"]
