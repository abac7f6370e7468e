"""Serves the built web console (services/console/dist, `npm run build`) at `/`.

- `/assets/*` are content-hashed by Vite: cached for a year, immutable. Everything else, index.html
  above all, is `no-cache`, so a new deployment is picked up on the next navigation.
- Any other path that is not a file is a client-side route: it gets index.html. Never under `/api/`,
  where an unknown path stays the API's JSON 404.
- Text files are gzipped when the browser accepts it (kept compressed in memory); streaming API responses
  are not touched, so tokens of a streamed completion are never held back by a compressor.
- A Content-Security-Policy allowing no inline script, and the usual hardening headers.
When the console has not been built, `/` says so and how to build it."""

from __future__ import annotations

import gzip
import html
import inspect
import mimetypes
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

# Ant Design writes its styles at run time into <style> elements: styles may be inline, scripts never.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
_COMPRESSIBLE = (".js", ".mjs", ".css", ".html", ".svg", ".json", ".map", ".txt", ".webmanifest")
_MIN_GZIP_BYTES = 512
# The system's MIME table may lack these; a wrong type with `nosniff` would block the file.
_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".ico": "image/x-icon",
}


def default_dir() -> Path:
    """services/console/dist beside this package in the source tree (editable install, Docker image)."""
    return Path(__file__).resolve().parents[2] / "console" / "dist"


class Console:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._gzipped: dict[Path, tuple[float, bytes]] = {}

    @property
    def built(self) -> bool:
        return (self.root / "index.html").is_file()

    def file_for(self, path: str) -> Path | None:
        """The file a URL path names inside the build, or None (also for anything escaping it)."""
        if not path or path.endswith("/"):
            return None
        candidate = (self.root / path).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate

    def respond(self, request: Request, file: Path, cache_control: str) -> Response:
        media_type = (
            _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        )
        headers = {"cache-control": cache_control, "vary": "Accept-Encoding", **SECURITY_HEADERS}
        body = self._body(file, request)
        if body is not None:
            headers["content-encoding"] = "gzip"
        else:
            body = file.read_bytes()
        if request.method == "HEAD":
            headers["content-length"] = str(len(body))
            return Response(b"", headers=headers, media_type=media_type)
        return Response(body, headers=headers, media_type=media_type)

    def _body(self, file: Path, request: Request) -> bytes | None:
        """The gzipped file when worth it and accepted, else None."""
        if "gzip" not in request.headers.get("accept-encoding", "") or not file.name.endswith(_COMPRESSIBLE):
            return None
        mtime = file.stat().st_mtime
        cached = self._gzipped.get(file)
        if cached is None or cached[0] != mtime:
            raw = file.read_bytes()
            if len(raw) < _MIN_GZIP_BYTES:
                return None
            cached = self._gzipped[file] = (mtime, gzip.compress(raw, compresslevel=9, mtime=0))
        return cached[1]


def _not_built(root: Path) -> HTMLResponse:
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Podium: console not built</title></head>
<body><main><h1>The Podium console is not built</h1>
<p>No build was found in <code>{html.escape(str(root))}</code>. Run <code>make setup</code> (it runs
<code>npm ci</code> and <code>npm run build</code> in <code>services/console</code>), or point
<code>PODIUM_CONSOLE_DIR</code> at a build, then reload.</p>
<p>The API works without it: <a href="/api/v1/docs">API documentation</a>.</p></main></body></html>"""
    return HTMLResponse(page, headers={"cache-control": NO_CACHE, **SECURITY_HEADERS})


def install(app: FastAPI, root: Path | None) -> None:
    """Answer what no route claimed: a GET or HEAD outside /api/ that would be a 404 gets the console.
    Done in the 404 handler rather than by a catch-all route, so a wrong method on an API path stays a
    405 and routes added later still win."""
    console = Console(root or default_dir())
    api_not_found = app.exception_handlers[HTTPException]

    def serve(request: Request) -> Response:
        path = request.url.path.lstrip("/")
        if not console.built:
            return _not_built(console.root)
        file = console.file_for(path)
        if file is not None:
            return console.respond(request, file, IMMUTABLE if path.startswith("assets/") else NO_CACHE)
        if path.startswith("assets/"):
            # A hashed asset of another build: answering index.html would be cached as that asset.
            return Response("not found", 404, media_type="text/plain", headers={"cache-control": NO_CACHE})
        return console.respond(request, console.root / "index.html", NO_CACHE)

    async def not_found_or_console(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = request.url.path
        if exc.status_code != 404 or request.method not in ("GET", "HEAD") or path.startswith("/api/"):
            answer = api_not_found(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        return await run_in_threadpool(serve, request)

    app.add_exception_handler(HTTPException, not_found_or_console)
