"""What a browser session needs at the HTTP boundary: the cookie's flags, which origins may use it, and
the CSRF check of cookie-authenticated mutating requests (docs/sessions.md)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import Request, Response
from podium_shared.auth import sessions
from podium_shared.errors import Forbidden
from starlette.datastructures import Headers

from podium_api.settings import ApiSettings

CSRF_HEADER = "x-csrf-token"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def lifetimes(cfg: ApiSettings) -> sessions.Lifetimes:
    return sessions.Lifetimes(
        idle=timedelta(seconds=cfg.session_idle_timeout_seconds),
        absolute=timedelta(seconds=cfg.session_max_age_seconds),
    )


def _origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def origin_allowed(headers: Headers, scheme: str, cfg: ApiSettings) -> bool:
    """The request's Origin is the API's own (as the browser addressed it), PODIUM_PUBLIC_URL's, or one
    of PODIUM_ALLOWED_ORIGINS. No Origin at all is not allowed: browsers send it on every mutating
    request and on WebSocket handshakes, so its absence means a client we cannot vouch for."""
    origin = headers.get("origin", "").strip().lower()
    if not origin or origin == "null":
        return False
    # A WebSocket's scope says ws/wss; the page that opened it is http/https.
    own_scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    allowed = {f"{own_scheme}://{headers.get('host', '')}".lower()}
    allowed |= {_origin_of(u) for u in [cfg.public_url or "", *cfg.allowed_origins]}
    return origin in allowed - {""}


def check_csrf(request: Request, cfg: ApiSettings, cookie_value: str) -> None:
    """Cookie-authenticated mutations need an allowed Origin and the session's CSRF token."""
    if request.method not in MUTATING:
        return
    if not origin_allowed(request.headers, request.url.scheme, cfg):
        raise Forbidden("this request did not come from the console's origin", code="csrf_failed")
    secret = cfg.secret_key.get_secret_value()
    if not sessions.csrf_matches(secret, cookie_value, request.headers.get(CSRF_HEADER, "")):
        raise Forbidden("missing or wrong X-CSRF-Token header; reload the page", code="csrf_failed")


def csrf_token(cfg: ApiSettings, cookie_value: str) -> str:
    return sessions.csrf_token(cfg.secret_key.get_secret_value(), cookie_value)


def _secure(request: Request, cfg: ApiSettings) -> bool:
    return request.url.scheme == "https" or (cfg.public_url or "").lower().startswith("https://")


def set_session_cookie(response: Response, request: Request, cfg: ApiSettings, value: str) -> None:
    # No Max-Age: the server decides when a session ends (idle and absolute), the browser forgets the
    # cookie when it closes.
    response.set_cookie(
        sessions.COOKIE_NAME,
        value,
        httponly=True,
        samesite="strict",
        secure=_secure(request, cfg),
        path="/",
    )


def clear_session_cookie(response: Response, request: Request, cfg: ApiSettings) -> None:
    response.delete_cookie(
        sessions.COOKIE_NAME, httponly=True, samesite="strict", secure=_secure(request, cfg), path="/"
    )
