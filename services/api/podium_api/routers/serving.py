"""Model-serving reads (from the watcher's snapshot) and the test console. Mutations are command kinds on
`POST /api/v1/commands` (deploy_model, assign_pod, …); nothing here changes the cluster."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from podium_shared.auth.principal import Principal
from podium_shared.errors import RateLimited
from podium_shared.serving import console, invoke, reads

from podium_api.deps import RedisDep, SessionDep, SettingsDep, ViewerDep
from podium_api.ratelimit import RateLimiter

router = APIRouter(tags=["model serving"])

# Requests through the test console reach GPUs; a tighter per-user bucket than the API's general one.
INVOKE_PER_SECOND = 2.0
INVOKE_BURST = 10


@router.get("/clusters/{cluster}/pools/{namespace}/{name}")
def pool_status(
    *, cluster: str, namespace: str, name: str, session: SessionDep, redis: RedisDep, principal: ViewerDep
) -> dict[str, Any]:
    """Total pods, pods per business, pods available for scale-down."""
    return reads.pool_status(session, redis, principal, cluster, namespace=namespace, name=name)


@router.get("/clusters/{cluster}/pools/{namespace}/{name}/distribution")
def plan_distribution(
    *,
    cluster: str,
    namespace: str,
    name: str,
    session: SessionDep,
    redis: RedisDep,
    principal: ViewerDep,
    ratios: Annotated[str | None, Query(description="e.g. prod:3,test:1")] = None,
    counts: Annotated[str | None, Query(description="e.g. prod:3 (the rest unassigned)")] = None,
    concurrency: Annotated[int, Query(ge=1, le=100)] = 8,
) -> dict[str, Any]:
    """The fewest relabels to reach a distribution, and the `assign_pods` command that applies them as one
    bulk operation (submit it to `POST /commands`). Changes nothing."""
    return reads.plan(
        session, redis, principal, cluster, namespace=namespace, name=name, ratios=ratios, counts=counts,
        concurrency=concurrency,
    )  # fmt: skip


@router.get("/clusters/{cluster}/business-services")
def business_services(
    *, cluster: str, session: SessionDep, redis: RedisDep, principal: ViewerDep, namespace: str | None = None
) -> list[dict[str, Any]]:
    """Name, business, model, ready pods and address of each business Service."""
    return reads.business_services(session, redis, principal, cluster, namespace)


def _limit(request: Request, redis: Any, principal: Principal) -> None:
    limiter = getattr(request.app.state, "invoke_limiter", None)
    if limiter is None:
        limiter = request.app.state.invoke_limiter = RateLimiter(
            redis, per_second=INVOKE_PER_SECOND, burst=INVOKE_BURST
        )
    decision = limiter.take(f"invoke:{principal.username}")
    if not decision.allowed:
        raise RateLimited(
            "too many test-console requests; slow down",
            details={"retry_after_seconds": round(decision.retry_after_seconds, 3)},
        )


@router.post("/clusters/{cluster}/services/{namespace}/{name}/invoke", response_model=None)
def invoke_service(
    *,
    request: Request,
    cluster: str,
    namespace: str,
    name: str,
    body: invoke.InvokeRequest,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: ViewerDep,
) -> dict[str, Any] | StreamingResponse:
    """Forward an OpenAI-compatible request through the API server's service proxy. Answers
    `{status, content_type, body, elapsed_ms, curl}`; with `"stream": true` in the body, the engine's
    server-sent events pass through as they arrive and the curl command is in `X-Podium-Curl` (JSON)."""
    _limit(request, redis, principal)
    upstream, prepared = console.invoke_service(
        session, redis, principal, cluster, namespace=namespace, name=name, body=body, settings=settings,
        sessions=request.app.state.session_factory,
    )  # fmt: skip
    if body.stream:
        return StreamingResponse(
            upstream.chunks,
            status_code=upstream.status,
            media_type=upstream.content_type,
            headers={"X-Podium-Curl": json.dumps(prepared.curl)},
        )
    return invoke.collect(upstream, prepared)
