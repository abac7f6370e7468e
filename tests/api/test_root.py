"""`/` leads somewhere real: the API docs, until a web console is served there."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_root_redirects_to_the_api_docs(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == "/api/v1/docs"
    docs = client.get("/", follow_redirects=True)
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
