"""The core command kinds: scale, label, annotate, delete, apply, bulk.

Every handler drives the cluster to a target state, so running it twice has the effect of running it once
(the worker may run it again after a crash): label/annotate are merge patches to the wanted values, delete
treats 404 as done, apply is server-side apply, scale patches the replica count (model pools through the
strategy serving provides, see workloads/scaling.py)."""

from __future__ import annotations

from typing import Any

from podium_shared.kube import resources
from podium_shared.kube.errors import kube_call, status_of
from podium_shared.kube.resources import FIELD_MANAGER
from podium_shared.models.user import Role
from podium_shared.operations.celery_app import QUEUE_BULK
from podium_shared.operations.context import ExecutionContext
from podium_shared.operations.kinds import CommandKind, Target
from podium_shared.workloads.scaling import scale_deployment
from podium_shared.workloads.schemas import (
    AnnotateParams,
    ApplyParams,
    BulkParams,
    DeleteParams,
    LabelParams,
    ScaleParams,
    _ObjectParams,
)

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


# Listed in podium_shared.domains, which registers them with the pipeline (nothing registers at import).
KINDS: list[CommandKind] = [
    CommandKind(
        "scale",
        ScaleParams,
        scale,
        target=lambda p: Target(namespace=p.namespace, resource_kind="deployment", resource_name=p.name),
    ),
    CommandKind("label", LabelParams, label, target=_object_target),
    CommandKind("annotate", AnnotateParams, annotate, target=_object_target),
    CommandKind("delete", DeleteParams, delete, target=_object_target),
    CommandKind("apply", ApplyParams, apply, min_role=Role.admin, target=_apply_target),
    CommandKind(
        "bulk",
        BulkParams,
        _bulk_not_run,
        queue=QUEUE_BULK,
        target=lambda _p: Target(resource_kind="bulk"),
        expands=_expand,
    ),
]
