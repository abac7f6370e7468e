"""The API service: `create_app(settings)` wires settings, the database, Redis, middleware, the error
handler and the routers. Every router is thin; the domain lives in `podium_shared`."""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from podium_shared import domains
from podium_shared.auth.cache import PrincipalCache
from podium_shared.clusters.service import KnownClusters
from podium_shared.db.session import session_factory, writer_session_factory
from podium_shared.operations import celery_app
from podium_shared.operations.kinds import all_kinds
from podium_shared.settings import PodiumSettings, get_settings
from pydantic import BaseModel
from redis import Redis

from podium_api import console, errors, logredact, openapi
from podium_api.fastaccept import AcceptFastLane
from podium_api.groupcommit import GroupCommit
from podium_api.middleware import BodySizeLimit, RequestContext
from podium_api.ratelimit import RateLimiter
from podium_api.routers import (
    audit,
    auth,
    cluster_reads,
    clusters,
    commands,
    health,
    infra,
    metrics,
    operations,
    serving,
    telemetry,
    training,
    training_history,
    users,
    ws,
)
from podium_api.settings import api_settings

log = logging.getLogger("podium_api")

API_PREFIX = "/api/v1"


def command_params() -> dict[str, type[BaseModel]]:
    return {name: kind.params for name, kind in all_kinds().items()}


def create_app(settings: PodiumSettings | None = None) -> FastAPI:
    cfg = api_settings(settings or get_settings())
    redis = Redis.from_url(cfg.redis_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.group_commit.close()
        for client in list(app.state.async_redis.values()):
            await client.aclose()
        redis.close()

    app = FastAPI(
        title="Podium",
        version="0.1.0",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
        lifespan=lifespan,
    )
    # The after-commit Celery sends and operation events use this process's settings.
    celery_app.configure(cfg)
    domains.install()
    app.state.settings = cfg
    app.state.session_factory = session_factory(cfg.database_url)
    app.state.redis = redis
    # One asyncio client per event loop (deps.async_redis).
    app.state.async_redis = weakref.WeakKeyDictionary()
    # A group that meets a dead connection (no pre-ping there) is written again, one command at a time, on
    # fresh ones (podium_api.groupcommit).
    app.state.group_commit = GroupCommit(writer_session_factory(cfg.database_url))
    app.state.principal_cache = PrincipalCache(redis)
    app.state.known_clusters = KnownClusters()
    app.state.rate_limiter = RateLimiter(
        redis, per_second=cfg.rate_limit_per_second, burst=cfg.rate_limit_burst
    )
    app.state.login_user_limiter = RateLimiter(
        redis, per_second=cfg.login_user_per_minute / 60, burst=cfg.login_user_burst
    )
    app.state.login_address_limiter = RateLimiter(
        redis, per_second=cfg.login_address_per_minute / 60, burst=cfg.login_address_burst
    )

    errors.install(app)
    logredact.install()
    # Added last = outermost: every response, even a 413 or a 500, carries the request id.
    app.add_middleware(BodySizeLimit, max_bytes=cfg.max_body_bytes)
    # Inside RequestContext: the fast lane's answers carry the request id too.
    app.add_middleware(AcceptFastLane, path=f"{API_PREFIX}/commands", max_body_bytes=cfg.max_body_bytes)
    app.add_middleware(RequestContext)

    app.include_router(health.router)
    for module in (auth, commands, operations, users, clusters, audit, training_history):
        app.include_router(module.router, prefix=API_PREFIX)
    # Before cluster_reads: its `/clusters/{cluster}/{kind}` would otherwise claim `business-services` and
    # `downloads`.
    app.include_router(serving.router, prefix=API_PREFIX)
    app.include_router(infra.router, prefix=API_PREFIX)
    app.include_router(training.router, prefix=API_PREFIX)
    app.include_router(telemetry.router, prefix=API_PREFIX)
    app.include_router(cluster_reads.router, prefix=API_PREFIX)
    app.include_router(ws.router, prefix=API_PREFIX)
    app.include_router(metrics.router)
    openapi.install(app, command_params)
    # The console answers only what no route claimed (after errors.install: it wraps the 404 handler).
    console.install(app, cfg.console_dir)
    return app
