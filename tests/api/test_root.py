"""`/` is the web console: the built files with the right caching, gzip and security headers, client-side
routes falling back to index.html (never under /api/), and a clear page when nothing is built."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.fixtures import ApiSettings, create_app

INDEX = (
    '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head></html>'
)
SCRIPT = "console.log('podium');\n" * 200


@pytest.fixture
def built(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text(SCRIPT)
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return dist


@pytest.fixture
def console(api_settings: ApiSettings, built: Path) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings.model_copy(update={"console_dir": built}))) as c:
        yield c


def test_index_and_client_routes_are_not_cached_and_carry_a_strict_csp(console: TestClient) -> None:
    for path in ("/", "/c/local/overview", "/operations/123", "/login?next=/audit"):
        r = console.get(path)
        assert r.status_code == 200, path
        assert r.text == INDEX
        assert r.headers["cache-control"] == "no-cache"
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"


def test_hashed_assets_are_immutable_and_gzipped(console: TestClient) -> None:
    r = console.get("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.text == SCRIPT  # httpx decodes it
    assert int(r.headers["content-length"]) < len(SCRIPT) / 5
    plain = console.get("/assets/index-abc123.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text == SCRIPT
    assert gzip.decompress(gzip.compress(SCRIPT.encode())).decode() == plain.text
    # An asset of another build is a 404, not index.html cached for a year under its name.
    assert console.get("/assets/index-old999.js").status_code == 404


def test_api_paths_never_fall_back_and_nothing_escapes_the_build(console: TestClient) -> None:
    r = console.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    assert console.get("/api/v1/openapi.json").status_code == 200
    assert console.get("/healthz").json() == {"status": "ok"}
    escaped = console.get("/..%2fsecret.txt")
    assert "outside the build" not in escaped.text
    assert console.get("/favicon.svg").headers["content-type"].startswith("image/svg+xml")


def test_a_missing_build_gets_a_page_that_says_how_to_build_it(
    api_settings: ApiSettings, tmp_path: Path
) -> None:
    cfg = api_settings.model_copy(update={"console_dir": tmp_path / "nothing"})
    with TestClient(create_app(cfg)) as c:
        r = c.get("/c/local/overview")
    assert r.status_code == 200
    assert "not built" in r.text
    assert "make setup" in r.text
    assert "/api/v1/docs" in r.text
