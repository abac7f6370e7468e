"""Create-or-converge, read, list and delete of namespaced objects of any kind in `kube.resources`' table.

Writes use server-side apply with field manager `podium`, so a handler re-run after a crash converges on
the same object instead of failing with "already exists". Paths come from the table, names travel as
URL-quoted path parameters, and whatever the client raises leaves as a classified PodiumError."""

from __future__ import annotations

from typing import Any

from podium_shared.errors import Invalid, NotFound
from podium_shared.kube.clients import ClusterClients
from podium_shared.kube.errors import kube_call
from podium_shared.kube.resources import FIELD_MANAGER, ResourceType, resource_type


def _named(rtype: ResourceType, namespace: str, name: str) -> tuple[str, dict[str, str]]:
    return rtype.path(namespaced_path=True, named=True), {"namespace": namespace, "name": name}


def apply(kube: ClusterClients, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    rtype = resource_type(obj["kind"])
    path, params = _named(rtype, meta["namespace"], meta["name"])
    with kube_call("apply", kind=obj["kind"], name=meta["name"], namespace=meta["namespace"]):
        return kube.request(
            "PATCH",
            path,
            path_params=params,
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
            body=obj,
            content_type="application/apply-patch+yaml",
        )


def get(kube: ClusterClients, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    """The object, or None when it does not exist."""
    path, params = _named(resource_type(kind), namespace, name)
    try:
        with kube_call("get", kind=kind, name=name, namespace=namespace):
            return kube.request("GET", path, path_params=params)
    except NotFound:
        return None


def list_objects(
    kube: ClusterClients, kind: str, namespace: str | None, *, selector: str | None = None
) -> list[dict[str, Any]]:
    """All objects of `kind` in `namespace` (None: every namespace) matching the label selector."""
    rtype = resource_type(kind)
    query = [("labelSelector", selector)] if selector else []
    path = rtype.path(namespaced_path=namespace is not None and rtype.namespaced, named=False)
    params = {"namespace": namespace} if namespace is not None and rtype.namespaced else None
    with kube_call("list", kind=kind, namespace=namespace):
        return list(kube.request("GET", path, path_params=params, query=query).get("items") or [])


def merge_patch(
    kube: ClusterClients, kind: str, namespace: str, name: str, patch: dict[str, Any]
) -> dict[str, Any]:
    path, params = _named(resource_type(kind), namespace, name)
    with kube_call("patch", kind=kind, name=name, namespace=namespace):
        return kube.request(
            "PATCH", path, path_params=params, body=patch, content_type="application/merge-patch+json"
        )


def delete(kube: ClusterClients, kind: str, namespace: str, name: str) -> bool:
    """Delete with background propagation (dependents are garbage-collected); False when already gone."""
    path, params = _named(resource_type(kind), namespace, name)
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
    try:
        with kube_call("delete", kind=kind, name=name, namespace=namespace):
            kube.request("DELETE", path, path_params=params, body=body)
    except NotFound:
        return False
    return True


def pod_log_tail(kube: ClusterClients, namespace: str, pod: str, container: str, lines: int) -> str:
    """The last `lines` lines of a container's log ("" when the pod or its log is not there yet)."""
    try:
        with kube_call("log", kind="Pod", name=pod, namespace=namespace):
            text: str = kube.core.read_namespaced_pod_log(
                pod, namespace, container=container, tail_lines=lines, _preload_content=True
            )
    except (NotFound, Invalid):
        # Gone, or still creating (the server answers 400 "waiting to start"): nothing to read yet.
        return ""
    return text
