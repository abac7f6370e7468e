"""Request dependencies: the session (the boundary owns the transaction), the principal (authenticated,
rate-limited), role checks, and the request's audit metadata."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Request
from podium_shared.audit.attempts import audited
from podium_shared.audit.auth_failures import audit_auth_failure
from podium_shared.auth import sessions
from podium_shared.auth.cache import EPOCH_KEY, PrincipalCache
from podium_shared.auth.principal import Principal, RequestMeta
from podium_shared.auth.service import AuthFailure, authenticate
from podium_shared.db.session import unit_of_work
from podium_shared.errors import Forbidden, RateLimited, Unauthenticated
from podium_shared.models.user import Role
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from podium_api import browser
from podium_api.loopredis import LoopRedis
from podium_api.ratelimit import Decision, RateLimiter
from podium_api.settings import ApiSettings

__all__ = [
    "AdminDep",
    "ConsoleSessionDep",
    "MetaDep",
    "OperatorDep",
    "PrincipalDep",
    "RedisDep",
    "RequestMeta",
    "SessionDep",
    "SettingsDep",
    "ViewerDep",
    "require_role",
]

log = logging.getLogger("podium_api")

_MUTATING = browser.MUTATING


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_redis(request: Request) -> Any:
    # Typed as Any on purpose: FastAPI evaluates dependency annotations at runtime, and `Redis[bytes]`
    # (a typing-only subscript) fails there. Callers get the app's shared `Redis` client.
    return request.app.state.redis


def get_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, committed when the handler returns and before the response is sent
    (scope="function"), so a 202 always means the operation is durable; rolled back on any exception.

    `async` on purpose: opening a session does no I/O (its first statement, in the handler's worker thread,
    takes the connection), so only the commit or rollback goes to a worker thread. A plain generator cost
    two hand-offs to the thread pool per request, and those hand-offs were the largest single CPU cost of
    an accept. Shielded: a client that disconnects does not leave the transaction open."""
    session = get_factory(request)()
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_end, session, commit=False)
        raise
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(_end, session, commit=True)


def _end(session: Session, *, commit: bool) -> None:
    """What `unit_of_work` does when its block ends."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_meta(request: Request) -> RequestMeta:
    return RequestMeta(
        request_id=getattr(request.state, "request_id", None),
        client_addr=request.client.host if request.client else None,
    )


# The dependencies below that do no I/O are `async def`: FastAPI runs a plain `def` dependency in a worker
# thread, and each such hop (a queue, a lock, a wake-up of the event loop) cost more CPU than the work.
async def _settings_dep(request: Request) -> ApiSettings:
    return get_settings(request)


async def _redis_dep(request: Request) -> Any:
    return get_redis(request)


async def _meta_dep(request: Request) -> RequestMeta:
    return get_meta(request)


SettingsDep = Annotated[ApiSettings, Depends(_settings_dep)]
RedisDep = Annotated[Any, Depends(_redis_dep)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
MetaDep = Annotated[RequestMeta, Depends(_meta_dep)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _too_many(retry_after: float) -> RateLimited:
    return RateLimited("too many requests; slow down", details={"retry_after_seconds": round(retry_after, 3)})


# What a console session holding a one-time password may still do: sign out, change it, say who it is.
_ALLOWED_BEFORE_PASSWORD_CHANGE = ("/api/v1/auth/", "/api/v1/me")


def _authenticate(request: Request, session: Session) -> Principal:
    """A bearer token when one is sent (the CLI, scripts); else the console's session cookie, whose
    mutating requests must pass the CSRF check."""
    token = _bearer(request)
    cookie = request.cookies.get(sessions.COOKIE_NAME, "")
    if token or not cookie:
        return _authenticate_bearer(request, session, token)
    cfg = get_settings(request)
    signed_in = sessions.resolve(session, cookie, browser.lifetimes(cfg))
    request.state.console_session = signed_in
    browser.check_csrf(request, cfg, cookie)
    if signed_in.must_change_password and not request.url.path.startswith(_ALLOWED_BEFORE_PASSWORD_CHANGE):
        raise Forbidden(
            "change your one-time password first (POST /api/v1/auth/password)",
            code="password_change_required",
        )
    return signed_in.principal


def _authenticate_bearer(request: Request, session: Session, token: str) -> Principal:
    """The token's principal from this process's cache while the auth epoch has not moved (a Redis GET),
    else from the database (see `podium_shared.auth.cache`)."""
    if not token:
        return authenticate(session, token)
    cache: PrincipalCache = request.app.state.principal_cache
    epoch = cache.epoch()  # before the query: a change committed after it invalidates what we store
    principal = cache.get(token, epoch)
    if principal is None:
        principal = authenticate(session, token)
        cache.put(token, principal, epoch)
    return principal


def authenticate_token(
    app: FastAPI, session: Session, token: str, *, path: str, meta: RequestMeta
) -> Principal:
    """A bearer token to its principal, the same for REST and the WebSocket (see `guard_attempt`)."""
    return guard_attempt(app, path=path, meta=meta, attempt=lambda: authenticate(session, token))


def guard_attempt(
    app: FastAPI, *, path: str, meta: RequestMeta, attempt: Callable[[], Principal]
) -> Principal:
    """Run one authentication attempt (a bearer token or a console session cookie), the same for REST
    (`get_principal`) and the WebSocket: a known user's refused token is audited (at most once per
    interval), and every failure spends the client address's bucket, so guessing tokens is slow and cheap
    to refuse; a client that authenticates never touches it."""
    limiter: RateLimiter = app.state.rate_limiter
    try:
        return attempt()
    except Unauthenticated as exc:
        if isinstance(exc, AuthFailure):
            audit_auth_failure(
                app.state.session_factory,
                app.state.redis,
                username=exc.username,
                reason=exc.reason,
                path=path,
                interval_seconds=app.state.settings.auth_failure_audit_interval_seconds,
                request_id=meta.request_id,
                client_addr=meta.client_addr,
            )
        decision = limiter.take(f"addr:{meta.client_addr}")
        if not decision.allowed:
            raise _too_many(decision.retry_after_seconds) from None
        raise


async def get_principal(request: Request, meta: MetaDep) -> Principal:
    """The request's principal, rate-limited. A bearer token this process has seen is answered on the
    event loop: one round trip through the loop's own Redis client takes the user's rate-limit token and
    reads the auth epoch, and the cached answer stands if the epoch has not moved (no thread hand-off, no
    database). Anything else (a new token, a console cookie, a refusal, a moved epoch) is decided by the
    database in a worker thread, in a transaction of its own."""
    token = _bearer(request)
    cache: PrincipalCache = request.app.state.principal_cache
    cached = cache.peek(token)
    taken: tuple[str, Decision] | None = None
    if cached is not None:
        limiter: RateLimiter = request.app.state.rate_limiter
        redis = async_redis(request.app)
        username = cached.principal.username
        decision, epoch = await limiter.take_and_get(redis, username, EPOCH_KEY)
        if cache.fresh(cached, epoch):
            _check_rate(request, cached.principal, decision)
            request.state.auth_epoch = epoch  # what else this request may trust from caches (KnownClusters)
            return cached.principal
        taken = (username, decision)  # already spent: the database path does not take another
    return await run_in_threadpool(_principal_from_database, request, meta, taken)


def _principal_from_database(
    request: Request, meta: RequestMeta, taken: tuple[str, Decision] | None
) -> Principal:
    limiter: RateLimiter = request.app.state.rate_limiter
    with unit_of_work(get_factory(request)) as session:
        principal = guard_attempt(
            request.app, path=request.url.path, meta=meta, attempt=lambda: _authenticate(request, session)
        )
    if taken is not None and taken[0] == principal.username:
        decision = taken[1]
    else:
        decision = limiter.take(principal.username)
    _check_rate(request, principal, decision)
    return principal


def _check_rate(request: Request, principal: Principal, decision: Decision) -> None:
    if not decision.allowed:
        limited = _too_many(decision.retry_after_seconds)
        if request.method in _MUTATING:
            audited(limited, principal, f"{request.method} {request.url.path}"[:64], "rate_limited")
        raise limited
    request.state.principal = principal


def async_redis(app: FastAPI) -> LoopRedis:
    """This event loop's Redis connection (an asyncio connection belongs to the loop that made it; uvicorn
    runs one loop per process, the test client one per client)."""
    loop = asyncio.get_running_loop()
    clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopRedis] = app.state.async_redis
    client = clients.get(loop)
    if client is None:
        client = clients[loop] = LoopRedis(app.state.settings.redis_url)
    return client


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_console_session(request: Request, _principal: PrincipalDep) -> sessions.SessionUser | None:
    """The console session the request came with (None for bearer tokens)."""
    signed_in: sessions.SessionUser | None = getattr(request.state, "console_session", None)
    return signed_in


ConsoleSessionDep = Annotated[sessions.SessionUser | None, Depends(get_console_session)]


def require_role(role: Role, action: str | None = None) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the principal, if their role is at least `role`; else 403, audited as `denied`."""

    async def dependency(request: Request, principal: PrincipalDep) -> Principal:
        if not principal.has_role(role):
            route = request.scope.get("route")
            name = action or f"{request.method} {getattr(route, 'path', request.url.path)}"
            raise audited(
                Forbidden(f"this needs the {role.value} role; you are {principal.role.value}"),
                principal,
                name[:64],
                "denied",
                details={"required_role": role.value, "path": request.url.path},
            )
        return principal

    return dependency


ViewerDep = Annotated[Principal, Depends(require_role(Role.viewer))]
OperatorDep = Annotated[Principal, Depends(require_role(Role.operator))]
AdminDep = Annotated[Principal, Depends(require_role(Role.admin))]
