"""The core command kinds: scale, label, annotate, delete, apply, bulk.

Every handler drives the cluster to a target state, so running it twice has the effect of running it once
(the worker may run it again after a crash): label/annotate are merge patches to the wanted values, delete
treats 404 as done, apply is server-side apply, scale patches the replica count."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from podium_shared.kube import resources
from podium_shared.kube.errors import kube_call, status_of
from podium_shared.kube.scaling import scale_deployment
from podium_shared.models.user import Role
from podium_shared.operations.celery_app import QUEUE_BULK
from podium_shared.operations.context import ExecutionContext
from podium_shared.operations.kinds import CommandKind, Target, get_kind, register

FIELD_MANAGER = "podium"
MAX_BULK_ITEMS = 5000
# Kinds a bulk may contain: the ones that act on one object. `apply` (admin, many objects) and `bulk`
# itself are excluded so authorisation and progress stay per item.
BULK_ITEM_KINDS = frozenset({"scale", "label", "annotate", "delete"})
_ANNOTATIONS_MAX_BYTES = 256 * 1024


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ScaleParams(_Params):
    namespace: str
    name: str
    replicas: int = Field(ge=0, le=10_000)

    _ns = field_validator("namespace")(resources.check_namespace)
    _name = field_validator("name")(resources.check_name)


class _ObjectParams(_Params):
    namespace: str | None = None
    kind: str
    name: str

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        try:
            return resources.resource_type(value).kind.lower()
        except Exception as exc:
            raise ValueError(getattr(exc, "message", str(exc))) from None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return resources.check_name(value)

    @model_validator(mode="after")
    def _scope(self) -> _ObjectParams:
        rtype = resources.resource_type(self.kind)
        if rtype.namespaced and not self.namespace:
            raise ValueError(f"{self.kind} is namespaced: namespace is required")
        if not rtype.namespaced:
            self.namespace = None  # cluster-scoped: a namespace would only mislead the audit log
        elif self.namespace is not None:
            resources.check_namespace(self.namespace)
        return self


class LabelParams(_ObjectParams):
    # A null value removes the label.
    labels: dict[str, str | None] = Field(min_length=1, max_length=64)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        for key, val in value.items():
            resources.check_label_key(key)
            if val is not None:
                resources.check_label_value(key, val)
        return value


class AnnotateParams(_ObjectParams):
    annotations: dict[str, str | None] = Field(min_length=1, max_length=64)

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        size = 0
        for key, val in value.items():
            resources.check_label_key(key)
            size += len(key) + len(val or "")
        if size > _ANNOTATIONS_MAX_BYTES:
            raise ValueError("annotations may hold at most 256 KiB in total")
        return value


class DeleteParams(_ObjectParams):
    pass


class ApplyParams(_Params):
    manifests: list[dict[str, Any]] = Field(min_length=1, max_length=200)

    @field_validator("manifests")
    @classmethod
    def _manifests(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, manifest in enumerate(value):
            meta = manifest.get("metadata")
            if not isinstance(manifest.get("apiVersion"), str) or not isinstance(manifest.get("kind"), str):
                raise ValueError(f"manifests[{i}]: apiVersion and kind are required")
            if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
                raise ValueError(f"manifests[{i}]: metadata.name is required")
            resources.check_name(meta["name"], f"manifests[{i}].metadata.name")
            if meta.get("namespace") is not None:
                resources.check_namespace(str(meta["namespace"]))
        return value


class BulkItem(_Params):
    kind: str
    params: dict[str, Any]


class BulkParams(_Params):
    items: list[BulkItem] = Field(min_length=1, max_length=MAX_BULK_ITEMS)
    concurrency: int = Field(default=10, ge=1, le=100)

    @model_validator(mode="after")
    def _items(self) -> BulkParams:
        problems = []
        for i, item in enumerate(self.items):
            if item.kind not in BULK_ITEM_KINDS:
                problems.append(
                    f"items[{i}]: kind {item.kind!r} cannot be bulked ({sorted(BULK_ITEM_KINDS)})"
                )
                continue
            try:
                parsed = get_kind(item.kind).params.model_validate(item.params)
            except ValueError as exc:
                problems.append(f"items[{i}] ({item.kind}): {_first_error(exc)}")
                continue
            item.params = parsed.model_dump(mode="json")
            if len(problems) >= 20:
                break
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        return f"{loc}: {first.get('msg')}" if loc else str(first.get("msg"))
    return str(exc)


# --- handlers -------------------------------------------------------------------------------------------


def scale(ctx: ExecutionContext, p: ScaleParams) -> dict[str, Any]:
    return scale_deployment(ctx, p.namespace, p.name, p.replicas)


def _patch_metadata(
    ctx: ExecutionContext, p: _ObjectParams, field: str, values: dict[str, str | None]
) -> dict[str, Any]:
    rtype = resources.resource_type(p.kind)
    path, path_params = rtype.object_path(p.name, p.namespace)
    verb = "label" if field == "labels" else "annotate"
    with kube_call(verb, kind=p.kind, name=p.name, namespace=p.namespace):
        obj = ctx.kube.request(
            "PATCH",
            path,
            path_params=path_params,
            body={"metadata": {field: values}},
            content_type="application/merge-patch+json",
        )
    current = (obj.get("metadata") or {}).get(field) or {}
    return {
        "kind": p.kind,
        "namespace": p.namespace,
        "name": p.name,
        field: {k: current.get(k) for k in values},
    }


def label(ctx: ExecutionContext, p: LabelParams) -> dict[str, Any]:
    return _patch_metadata(ctx, p, "labels", p.labels)


def annotate(ctx: ExecutionContext, p: AnnotateParams) -> dict[str, Any]:
    return _patch_metadata(ctx, p, "annotations", p.annotations)


def delete(ctx: ExecutionContext, p: DeleteParams) -> dict[str, Any]:
    rtype = resources.resource_type(p.kind)
    path, path_params = rtype.object_path(p.name, p.namespace)
    result = {"kind": p.kind, "namespace": p.namespace, "name": p.name}
    try:
        with kube_call("delete", kind=p.kind, name=p.name, namespace=p.namespace):
            ctx.kube.request(
                "DELETE",
                path,
                path_params=path_params,
                body={"propagationPolicy": "Background"},
                content_type="application/json",
            )
    except Exception as exc:
        # Already gone (deleted by a previous attempt, or by someone else) is the state we wanted.
        if status_of(exc.__cause__ or exc) == 404:
            return result | {"deleted": False, "already_absent": True}
        raise
    return result | {"deleted": True}


def apply(ctx: ExecutionContext, p: ApplyParams) -> dict[str, Any]:
    applied = []
    for manifest in p.manifests:
        ctx.check_cancelled()
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        namespace = manifest["metadata"].get("namespace")
        with kube_call("apply", kind=kind, name=name, namespace=namespace):
            rtype = resources.discover(ctx.kube.request, manifest["apiVersion"], kind)
            if rtype.namespaced:
                namespace = namespace or "default"
                body = {**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}}
            else:
                namespace, body = None, manifest
            path, path_params = rtype.object_path(name, namespace)
            obj = ctx.kube.request(
                "PATCH",
                path,
                path_params=path_params,
                query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
                body=body,
                content_type="application/apply-patch+yaml",
            )
        meta = obj.get("metadata") or {}
        applied.append(
            {
                "kind": kind,
                "namespace": namespace,
                "name": name,
                "resourceVersion": meta.get("resourceVersion"),
            }
        )
    return {"applied": applied}


def _bulk_not_run(_ctx: ExecutionContext, _p: BulkParams) -> dict[str, Any]:
    # A bulk parent is orchestrated by operations.bulk (it releases and finalises children), never run.
    raise RuntimeError("bulk parents are orchestrated, not executed")


def _expand(p: BulkParams) -> list[tuple[str, dict[str, Any]]]:
    return [(item.kind, item.params) for item in p.items]


def _object_target(p: _ObjectParams) -> Target:
    return Target(namespace=p.namespace, resource_kind=p.kind, resource_name=p.name)


def _apply_target(p: ApplyParams) -> Target:
    first = p.manifests[0]
    return Target(
        namespace=first["metadata"].get("namespace"),
        resource_kind=str(first["kind"]).lower(),
        resource_name=first["metadata"]["name"],
    )


register(
    CommandKind(
        "scale",
        ScaleParams,
        scale,
        target=lambda p: Target(namespace=p.namespace, resource_kind="deployment", resource_name=p.name),
    )
)
register(CommandKind("label", LabelParams, label, target=_object_target))
register(CommandKind("annotate", AnnotateParams, annotate, target=_object_target))
register(CommandKind("delete", DeleteParams, delete, target=_object_target))
register(CommandKind("apply", ApplyParams, apply, min_role=Role.admin, target=_apply_target))
register(
    CommandKind(
        "bulk",
        BulkParams,
        _bulk_not_run,
        queue=QUEUE_BULK,
        target=lambda _p: Target(resource_kind="bulk"),
        expands=_expand,
    )
)
