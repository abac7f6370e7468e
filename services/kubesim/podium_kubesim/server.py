"""The HTTP face of kubesim: Kubernetes API paths routed to handlers; health, version, OpenAPI, /_sim/."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from podium_kubesim import admin, discovery, errors, handlers, openapi, streams, subresources
from podium_kubesim.errors import ApiError
from podium_kubesim.handlers import Target, json_response, q_bool
from podium_kubesim.resources import by_path
from podium_kubesim.sim import KubeSim

log = logging.getLogger(__name__)

Handler = Callable[[KubeSim, Request, Target], Awaitable[Response] | Response]


def _error_response(exc: ApiError) -> Response:
    return Response(
        handlers.dumps(exc.status()), status_code=exc.code, media_type="application/json", headers=exc.headers
    )


def _parse(parts: list[str]) -> tuple[str, str, list[str]] | None:
    if len(parts) >= 2 and parts[0] == "api":
        return "", parts[1], parts[2:]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2], parts[3:]
    return None


def _target(group: str, version: str, rest: list[str]) -> tuple[Target, bool]:
    """Resolve a resource path; the bool says it came through the legacy /watch/ prefix."""
    legacy_watch = bool(rest) and rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces" and not (group == "" and rest[2] in ("status", "finalize")):
        namespace, rest = rest[1], rest[2:]
    if not rest:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    res = by_path(group, version, rest[0])
    if res is None or (namespace is not None and not res.namespaced):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and sub not in res.subresources:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    tail = "/".join(rest[3:])
    if sub != "proxy" and tail:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    return Target(res, namespace if res.namespaced else None, name, sub, tail), legacy_watch


def _verb(request: Request, t: Target, legacy_watch: bool) -> str:
    method = request.method
    if method == "GET":
        if legacy_watch or q_bool(request, "watch"):
            return "watch"
        return "get" if t.name else "list"
    return {
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete" if t.name else "deletecollection",
    }.get(method, "unknown")


# Subresources that only take a POST (policy/v1 Eviction, v1 Binding).
_POST_SUBRESOURCES: dict[str, Callable[[KubeSim, Request, Target], Awaitable[Response]]] = {
    "eviction": subresources.evict,
    "binding": subresources.bind,
}


async def _resource_request(sim: KubeSim, request: Request, t: Target, verb: str) -> Response:
    if t.subresource == "proxy":
        return await _proxy(sim, request, t)
    if t.subresource == "log":
        if verb != "get":
            raise errors.method_not_allowed()
        return streams.pod_log(sim, request, t)
    if t.res.key in discovery.REVIEW_KEYS:
        if verb != "create":
            raise errors.method_not_allowed()
        return await subresources.access_review(request, t)
    post_only = _POST_SUBRESOURCES.get(t.subresource or "")
    if post_only is not None:
        if verb != "create":
            raise errors.method_not_allowed()
        return await post_only(sim, request, t)
    table: dict[tuple[str, bool], Handler] = {
        ("get", True): handlers.get,
        ("list", False): handlers.list_objects,
        ("watch", False): streams.watch,
        ("watch", True): streams.watch,
        ("create", False): handlers.create,
        ("update", True): handlers.update,
        ("patch", True): handlers.patch,
        ("delete", True): handlers.delete,
        ("deletecollection", False): handlers.delete_collection,
    }
    handler = table.get((verb, t.name is not None))
    if handler is None or (t.subresource and verb not in ("get", "update", "patch")):
        raise errors.method_not_allowed()
    if t.res.storage_key == "customresourcedefinitions.apiextensions.k8s.io" and verb not in (
        "get",
        "list",
        "watch",
    ):
        raise errors.method_not_allowed("customresourcedefinitions are read-only in kubesim")
    result = handler(sim, request, t)
    if isinstance(result, Response):
        return result
    return await result


async def _proxy(sim: KubeSim, request: Request, t: Target) -> Response:
    from podium_kubesim import proxy  # noqa: PLC0415 - proxy imports this module's helpers (a cycle)

    assert t.name is not None
    assert t.namespace is not None
    marker = f"/{t.name}/proxy"
    raw_path = request.url.path
    idx = raw_path.find(marker)
    path = raw_path[idx + len(marker) :] if idx >= 0 else "/" + t.rest
    path = path or "/"
    if t.res.storage_key == "services":
        return await proxy.handle_service_proxy(sim, request, t.namespace, t.name, path)
    handle_pod = getattr(proxy, "handle_pod_proxy", None)
    if t.res.storage_key == "pods" and handle_pod is not None:
        return await handle_pod(sim, request, t.namespace, t.name, path)  # type: ignore[no-any-return]
    raise errors.method_not_allowed()


def create_app(sim: KubeSim, *, server_address: str = "127.0.0.1:6443") -> Starlette:
    async def dispatch(request: Request) -> Response:  # noqa: PLR0911, PLR0912 - one flat routing table
        path = request.url.path
        parts = [p for p in path.split("/") if p]
        try:
            if path.startswith("/_sim/"):
                return await admin.handle(sim, request, path[len("/_sim/") :])
            if path in ("/healthz", "/readyz", "/livez") or path.startswith(
                ("/healthz/", "/readyz/", "/livez/")
            ):
                return PlainTextResponse("ok")
            if path in ("/version", "/version/"):
                return json_response(discovery.version_info())
            if parts and parts[0] == "openapi":
                return openapi.handle(request, parts[1:])
            if parts in (["api"], ["apis"]) and discovery.wants_aggregated(request.headers.get("accept", "")):
                body = handlers.dumps(discovery.aggregated(core=parts == ["api"]))
                return Response(body, media_type=discovery.AGGREGATED_CONTENT_TYPE)
            if parts == ["api"]:
                return json_response(discovery.core_versions(server_address))
            if parts == ["apis"]:
                return json_response(discovery.group_list())
            if len(parts) == 2 and parts[0] == "apis":
                doc = discovery.group(parts[1])
                if doc is None:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                return json_response(doc)
            parsed = _parse(parts)
            if parsed is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            group, version, rest = parsed
            if not rest:
                doc = discovery.resource_list(group, version)
                if doc is None:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                return json_response(doc)
            t, legacy_watch = _target(group, version, rest)
            verb = _verb(request, t, legacy_watch)
            latency, fault = sim.faults.check(verb, t.res.key, t.namespace, t.name)
            if latency > 0:
                await asyncio.sleep(latency)
            if fault is not None:
                raise fault
            return await _resource_request(sim, request, t, verb)
        except ApiError as exc:
            return _error_response(exc)
        except Exception:  # a bug in kubesim: answer like the real server would, and keep the trace
            log.exception("kubesim internal error on %s %s", request.method, path)
            return _error_response(errors.internal_error())

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> Any:
        await sim.start()
        try:
            yield
        finally:
            await sim.stop()

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    routes = [Route("/{path:path}", dispatch, methods=methods)]
    return Starlette(routes=routes, lifespan=lifespan)
