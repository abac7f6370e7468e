from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.fixtures import ApiSettings, ApiUser, create_app
from api.helpers import scale


def _shape(body: dict[str, object]) -> None:
    assert set(body) == {"code", "message", "details"}
    assert isinstance(body["message"], str)
    assert body["message"]


def test_unknown_route_and_method(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    _shape(r.json())
    assert r.json()["code"] == "not_found"
    r = client.delete("/healthz")
    assert r.status_code == 405
    _shape(r.json())
    assert r.json()["code"] == "method_not_allowed"


def test_malformed_json_is_422_in_the_shape(client: TestClient, operator: ApiUser) -> None:
    r = client.post(
        "/api/v1/commands",
        headers=operator.headers | {"Content-Type": "application/json"},
        content=b"{not json",
    )
    assert r.status_code == 422
    _shape(r.json())


def test_unexpected_error_is_500_without_a_trace(app: FastAPI, caplog: object) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom", headers={"X-Request-ID": "trace-me"})
    assert r.status_code == 500
    body = r.json()
    _shape(body)
    assert body["code"] == "internal_error"
    assert "secret internals" not in r.text
    assert "Traceback" not in r.text
    assert body["details"]["request_id"] == "trace-me"
    assert r.headers["x-request-id"] == "trace-me"


def test_body_size_limit_413(api_settings: ApiSettings, operator: ApiUser, cluster: str) -> None:
    with TestClient(create_app(api_settings.model_copy(update={"max_body_bytes": 2048}))) as c:
        big = scale(cluster)
        big["params"]["padding"] = "x" * 4096  # type: ignore[index]
        r = c.post("/api/v1/commands", headers=operator.headers, json=big)
        assert r.status_code == 413
        _shape(r.json())
        assert r.json()["code"] == "payload_too_large"

        # No Content-Length: the limit counts the streamed body.
        def chunks() -> Iterator[bytes]:
            yield b'{"kind": "scale", "cluster": "x", "params": {"p": "'
            for _ in range(10):
                yield b"y" * 512
            yield b'"}}'

        r = c.post(
            "/api/v1/commands",
            headers=operator.headers | {"Content-Type": "application/json"},
            content=chunks(),
        )
        assert r.status_code == 413
        assert r.json()["code"] == "payload_too_large"
        assert c.post("/api/v1/commands", headers=operator.headers, json=scale(cluster)).status_code == 202
