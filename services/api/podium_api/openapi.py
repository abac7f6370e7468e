"""The error responses each route declares in the OpenAPI document: every status it can answer, with the
one error shape. Generated clients (the console's types) and schemathesis read these."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

_DESCRIPTIONS = {
    400: "A query parameter is not valid (the training-metrics API answers 400 as Primus Lens does)",
    401: "Not authenticated: no valid bearer token or session cookie",
    403: "Forbidden: role, namespace scope or CSRF check",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Request body too large",
    422: "The request is not valid",
    429: "Rate limited; see Retry-After",
    502: "An upstream system (a model server, AWS) failed or its answer could not be relayed",
    503: "A dependency is unavailable; retry later",
}


class ErrorBody(BaseModel):
    """Every error Podium answers: a stable code, a sentence for people, and structured details."""

    code: str = Field(examples=["not_found"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with the error body."""
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in statuses}


# Statuses a route answers beyond what its signature shows (domain conflicts, a missing snapshot).
_EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST", "/api/v1/commands"): (409,),
    ("POST", "/api/v1/operations/{op_id}/cancel"): (409,),
    ("POST", "/api/v1/users"): (409,),
    ("PATCH", "/api/v1/users/{username}"): (409,),
    ("POST", "/api/v1/clusters"): (409,),
    ("DELETE", "/api/v1/clusters/{name}"): (409,),
    ("GET", "/api/v1/clusters/{cluster}/status"): (503,),
    ("GET", "/api/v1/clusters/{cluster}/{kind}"): (503,),
    ("GET", "/api/v1/clusters/{cluster}/pools/{namespace}/{name}"): (409, 503),
    ("GET", "/api/v1/clusters/{cluster}/pools/{namespace}/{name}/distribution"): (503,),
    ("GET", "/api/v1/clusters/{cluster}/business-services"): (503,),
    ("GET", "/api/v1/clusters/{cluster}/models"): (503,),
    ("POST", "/api/v1/clusters/{cluster}/services/{namespace}/{name}/invoke"): (502, 503),
    ("GET", "/api/v1/clusters/{cluster}/trainingjobs/{namespace}/{name}"): (503,),
    ("GET", "/api/v1/clusters/{cluster}/downloads"): (503,),
    # Infra reads call AWS (502 when it fails) for a cluster that must have its AWS names (409).
    ("GET", "/api/v1/clusters/{cluster}/nodegroups"): (409, 502),
    ("GET", "/api/v1/clusters/{cluster}/hyperpod"): (409, 502, 503),
    ("GET", "/api/v1/clusters/{cluster}/storage"): (503,),
    ("GET", "/api/v1/clusters/{cluster}/storage/{pv}/objects"): (409, 502, 503),
    ("GET", "/api/v1/clusters/{cluster}/storage/{pv}/objects/url"): (409, 502, 503),
    # Kept logs and training metrics answer 400 naming the bad parameter (Lens's contract).
    ("GET", "/api/v1/clusters/{cluster}/trainingjobs/{namespace}/{name}/logs"): (400,),
    ("GET", "/api/v1/clusters/{cluster}/trainingjobs/{namespace}/{name}/logs/download"): (400,),
    ("GET", "/api/v1/workloads/{uid}/metrics/available"): (400,),
    ("GET", "/api/v1/workloads/{uid}/metrics/data"): (400,),
    ("POST", "/api/v1/workloads/{uid}/metrics"): (400,),
    # Training history names a registered cluster in its query (404 when it is not).
    ("GET", "/api/v1/training/runs"): (404,),
    ("GET", "/api/v1/training/compare"): (404,),
    ("GET", "/readyz"): (503,),
}


# Routes that need no credentials; every other /api/ route authenticates (401, 403, 429).
_PUBLIC = frozenset(
    {"/healthz", "/readyz", "/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/auth/session"}
)


def declare_errors(document: dict[str, Any]) -> None:
    """Give every operation of the document the error statuses it can answer: authentication (401; 403
    for roles, namespace scope and the CSRF check; 429), parameters (422), path parameters (404), a body
    (413, 422), and the domain statuses listed in `_EXTRA`. The component ErrorBody is their schema."""
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    document.setdefault("components", {}).setdefault("schemas", {})["ErrorBody"] = (
        ErrorBody.model_json_schema()
    )
    for path, operations in document.get("paths", {}).items():
        for method, op in operations.items():
            statuses: set[int] = set(_EXTRA.get((method.upper(), path), ()))
            if path.startswith("/api/") and path not in _PUBLIC:
                statuses |= {401, 403, 429}
            locations = {p.get("in") for p in op.get("parameters", [])}
            if "path" in locations:
                statuses |= {404, 422}
            if locations & {"query", "header", "cookie"}:
                statuses.add(422)
            if "requestBody" in op:
                statuses |= {413, 422}
            responses = op.setdefault("responses", {})
            for status in sorted(statuses):
                responses[str(status)] = {
                    "description": _DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": ref}},
                }


def command_union_schema(kinds: dict[str, type[BaseModel]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`POST /commands`'s body as the discriminated union it is: one object per kind, `kind` the
    discriminator, `params` that kind's params model. Returns (body schema, component schemas)."""
    variants: list[Any] = []
    for name, params in sorted(kinds.items()):
        title = "".join(part.title() for part in name.split("_")) + "Command"
        variants.append(
            create_model(
                title,
                __config__=ConfigDict(extra="forbid"),
                kind=(Literal[name], ...),  # type: ignore[arg-type]
                cluster=(str, Field(min_length=1, max_length=63)),
                params=(params, ...),
            )
        )
    if not variants:
        return {}, {}
    union: TypeAdapter[Any] = TypeAdapter(
        Annotated[Union[tuple(variants)], Field(discriminator="kind")]  # type: ignore[arg-type]  # noqa: UP007
    )
    schema = union.json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    return schema, components


def install(app: FastAPI, kinds: Callable[[], dict[str, type[BaseModel]]]) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes)
            body, components = command_union_schema(kinds())
            post = document["paths"].get("/api/v1/commands", {}).get("post")
            if post and body:
                post["requestBody"]["content"]["application/json"]["schema"] = body
                document.setdefault("components", {}).setdefault("schemas", {}).update(components)
            declare_errors(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
