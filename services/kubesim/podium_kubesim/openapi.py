"""OpenAPI v3 documents: just enough for kubectl, deliberately without component schemas.

kubectl reads /openapi/v3 to learn that PATCH of each kind accepts `fieldValidation` (then it leaves field
validation to the server instead of downloading schemas), and whether the PATCH accepts strategic merge
patches with a schema it can use. We list only JSON and merge patch bodies there, so `kubectl apply` falls
back to the patch metadata compiled into kubectl for built-in kinds (exact merge keys) and to JSON merge
patch for custom resources, which is what a real server's CRDs get too.

/openapi/v2 is a document without definitions (protobuf, as client-go asks for it, or JSON). kubectl
fetches it only to validate a `kind: List` client-side (its v3 query-param check refuses v1/List by
design); with no schemas there it skips item validation, and each item is then sent with
`fieldValidation=Strict` as usual.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from podium_kubesim import errors
from podium_kubesim.discovery import GIT_VERSION
from podium_kubesim.resources import GROUP_VERSIONS, Resource


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _query_params(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}} for n in names]


def _operation(res: Resource, action: str, op_id: str, body_types: tuple[str, ...] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "parameters": _query_params("dryRun", "fieldManager", "fieldValidation", "pretty", "force"),
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": res.group, "version": res.version, "kind": res.kind},
    }
    if body_types:
        op["requestBody"] = {
            "content": {t: {"schema": {"type": "object"}} for t in body_types},
            "required": True,
        }
    return op


def _camel(res: Resource) -> str:
    group = "".join(p.capitalize() for p in res.group.split(".")[0:1]) if res.group else "Core"
    return f"{group}{res.version.capitalize()}"


@lru_cache(maxsize=64)
def _gv_document(group: str, version: str) -> bytes:
    paths: dict[str, Any] = {}
    for res in GROUP_VERSIONS[(group, version)]:
        prefix = "/" + _gv_path(group, version)
        scoped = (
            f"{prefix}/namespaces/{{namespace}}/{res.plural}" if res.namespaced else f"{prefix}/{res.plural}"
        )
        ns_word = "Namespaced" if res.namespaced else ""
        name = f"{_camel(res)}{ns_word}{res.kind}"
        paths[scoped] = {
            "get": _operation(res, "list", f"list{name}"),
            "post": _operation(res, "post", f"create{name}", ("application/json",)),
        }
        patch_types = (
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
        )
        paths[f"{scoped}/{{name}}"] = {
            "get": _operation(res, "get", f"read{name}"),
            "put": _operation(res, "put", f"replace{name}", ("application/json",)),
            "patch": _operation(res, "patch", f"patch{name}", patch_types),
            "delete": _operation(res, "delete", f"delete{name}"),
        }
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


@lru_cache(maxsize=1)
def _index() -> bytes:
    paths = {}
    for group, version in GROUP_VERSIONS:
        digest = hashlib.sha512(_gv_document(group, version)).hexdigest()[:32].upper()
        gv = _gv_path(group, version)
        paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest}"}
    return json.dumps({"paths": paths}, separators=(",", ":")).encode()


# What kube-openapi answers to client-go's `...spec.v2@v1.0+protobuf` Accept: Go's mime parser refuses
# the `@`, so the response type spells it with a dot.
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _pb_field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (all lengths here are below 128: a one-byte varint)."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


@lru_cache(maxsize=1)
def _v2_protobuf() -> bytes:
    # gnostic openapi_v2.Document: swagger = 1, info = 2 (title = 1, version = 2), paths = 8 (empty).
    info = _pb_field(1, b"Kubernetes") + _pb_field(2, GIT_VERSION.encode())
    return _pb_field(1, b"2.0") + _pb_field(2, info) + _pb_field(8, b"")


def _v2(request: Request) -> Response:
    if "protobuf" in request.headers.get("accept", ""):
        return Response(_v2_protobuf(), media_type=OPENAPI_V2_PROTOBUF)
    doc = {"swagger": "2.0", "info": {"title": "Kubernetes", "version": GIT_VERSION}, "paths": {}}
    return Response(json.dumps(doc, separators=(",", ":")).encode(), media_type="application/json")


def handle(request: Request, parts: list[str]) -> Response:
    if parts == ["v2"]:
        return _v2(request)
    if parts == ["v3"]:
        return Response(_index(), media_type="application/json")
    if len(parts) >= 3 and parts[0] == "v3":
        rest = parts[1:]
        if rest[0] == "api" and len(rest) == 2:
            key = ("", rest[1])
        elif rest[0] == "apis" and len(rest) == 3:
            key = (rest[1], rest[2])
        else:
            key = ("?", "?")
        if key in GROUP_VERSIONS:
            return Response(_gv_document(*key), media_type="application/json")
    raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
