"""Liveness and readiness. `/readyz` reports each dependency so an operator sees what is missing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from podium_shared.realtime.keys import heartbeat_prefix
from sqlalchemy import text

from podium_api.deps import get_factory, get_redis

router = APIRouter(tags=["health"])

HEARTBEAT_PATTERNS = {component: heartbeat_prefix(component) + "*" for component in ("worker", "watcher")}


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    # No web console is served yet, so the address `podium up` prints leads to the API's own docs
    # rather than to a 404. 307 (not 301/308): browsers must not cache it once the console lands here.
    return RedirectResponse("/api/v1/docs", status_code=307)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check_postgres(request: Request) -> dict[str, Any]:
    try:
        with get_factory(request)() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:
        return {"ok": False, "detail": type(exc).__name__}
    return {"ok": True}


def _check_redis_and_heartbeats(request: Request) -> dict[str, dict[str, Any]]:
    redis = get_redis(request)
    checks: dict[str, dict[str, Any]] = {}
    try:
        redis.ping()
    except Exception as exc:
        down = {"ok": False, "detail": type(exc).__name__}
        return {"redis": down} | {
            name: {"ok": False, "detail": "redis unavailable"} for name in HEARTBEAT_PATTERNS
        }
    checks["redis"] = {"ok": True}
    for name, pattern in HEARTBEAT_PATTERNS.items():
        alive = [
            key.decode() if isinstance(key, bytes) else key for key in redis.scan_iter(pattern, count=100)
        ]
        checks[name] = {"ok": bool(alive), "count": len(alive)}
        if not alive:
            checks[name]["detail"] = f"no {name} heartbeat in the last 30 s"
    return checks


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    checks = {"postgres": _check_postgres(request)} | _check_redis_and_heartbeats(request)
    if all(c["ok"] for c in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    failing = sorted(name for name, c in checks.items() if not c["ok"])
    return JSONResponse(
        {"code": "not_ready", "message": f"not ready: {', '.join(failing)}", "details": {"checks": checks}},
        503,
    )
