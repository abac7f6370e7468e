"""The few Kubernetes calls serving needs, on top of the cluster's rate-limited clients.

Writes use server-side apply with field manager `podium`, so re-running a handler after a crash converges
on the same objects instead of failing with "already exists". Every call is wrapped by `kube_call`, so what
leaves is a classified PodiumError (transient ones are retried by the runner). Paths come from the one table
of kinds in `kube/resources.py`; names travel as URL-quoted path parameters."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from podium_shared.errors import NotFound
from podium_shared.kube.clients import ClusterClients
from podium_shared.kube.errors import kube_call
from podium_shared.kube.resources import FIELD_MANAGER, resource_type


def _collection(kind: str) -> str:
    return resource_type(kind).path(namespaced_path=True, named=False)


def _one(kind: str) -> str:
    return resource_type(kind).path(namespaced_path=True, named=True)


def apply(kube: ClusterClients, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    with kube_call("apply", kind=obj["kind"], name=meta["name"], namespace=meta["namespace"]):
        return kube.request(
            "PATCH",
            _one(obj["kind"]),
            path_params={"namespace": meta["namespace"], "name": meta["name"]},
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
            body=obj,
            content_type="application/apply-patch+yaml",
        )


def get(kube: ClusterClients, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    """The object, or None when it does not exist."""
    try:
        with kube_call("get", kind=kind, name=name, namespace=namespace):
            return kube.request("GET", _one(kind), path_params={"namespace": namespace, "name": name})
    except NotFound:
        return None


def get_or_404(kube: ClusterClients, kind: str, namespace: str, name: str) -> dict[str, Any]:
    found = get(kube, kind, namespace, name)
    if found is None:
        raise NotFound(f'{kind.lower()} "{name}" not found in namespace "{namespace}"')
    return found


def list_objects(
    kube: ClusterClients, kind: str, namespace: str, *, selector: str | None = None
) -> list[dict[str, Any]]:
    query = [("labelSelector", selector)] if selector else []
    with kube_call("list", kind=kind, namespace=namespace):
        body = kube.request("GET", _collection(kind), path_params={"namespace": namespace}, query=query)
    return list(body.get("items") or [])


def list_with_version(
    kube: ClusterClients, kind: str, namespace: str, *, selector: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    """The items and the list's resourceVersion, to watch for changes from that point on."""
    query = [("labelSelector", selector)] if selector else []
    with kube_call("list", kind=kind, namespace=namespace):
        body = kube.request("GET", _collection(kind), path_params={"namespace": namespace}, query=query)
    return list(body.get("items") or []), str((body.get("metadata") or {}).get("resourceVersion") or "")


def wait_pod_change(
    kube: ClusterClients, namespace: str, *, selector: str, resource_version: str, timeout: int
) -> bool:
    """Block until a pod matching `selector` changes after `resource_version`, or `timeout` seconds pass;
    True when something changed. A 410 (the version is too old) counts as a change: the caller relists."""
    watcher = watch.Watch()  # type: ignore[no-untyped-call]
    try:
        with kube_call("watch", kind="Pod", namespace=namespace):
            try:
                for _event in watcher.stream(  # type: ignore[no-untyped-call]
                    kube.core.list_namespaced_pod,
                    namespace,
                    label_selector=selector,
                    resource_version=resource_version,
                    timeout_seconds=max(1, timeout),
                ):
                    return True
            except ApiException as exc:
                if exc.status == 410:
                    return True
                raise
    finally:
        watcher.stop()  # type: ignore[no-untyped-call]
    return False


def list_cluster(kube: ClusterClients, path: str) -> list[dict[str, Any]]:
    with kube_call("list"):
        return list(kube.request("GET", path).get("items") or [])


def merge_patch(
    kube: ClusterClients, kind: str, namespace: str, name: str, *, patch: dict[str, Any]
) -> dict[str, Any]:
    with kube_call("patch", kind=kind, name=name, namespace=namespace):
        return kube.request(
            "PATCH",
            _one(kind),
            path_params={"namespace": namespace, "name": name},
            body=patch,
            content_type="application/merge-patch+json",
        )


def delete(kube: ClusterClients, kind: str, namespace: str, name: str) -> bool:
    """Delete (dependents are garbage-collected); False when it was already gone."""
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
    try:
        with kube_call("delete", kind=kind, name=name, namespace=namespace):
            kube.request("DELETE", _one(kind), path_params={"namespace": namespace, "name": name}, body=body)
    except NotFound:
        return False
    return True


def pod_proxy_path(namespace: str, pod: str, port: int, path: str) -> str:
    """The API server's pod proxy path (names are validated DNS names; quoted anyway)."""
    return (
        f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}:{port}/proxy"
        f"/{path.lstrip('/')}"
    )


def get_text(kube: ClusterClients, path: str) -> str:
    """GET a non-JSON body (Prometheus exposition text) through the API server."""
    with kube_call("get"):
        method, url, headers, body, post = kube.api_client.param_serialize(
            method="GET", resource_path=path, header_params={"Accept": "*/*"}, auth_settings=["BearerToken"]
        )
        response = kube.api_client.call_api(method, url, headers, body, post)
        response.read()  # type: ignore[no-untyped-call]
        data: bytes = response.data or b""
        if not 200 <= response.status <= 299:
            raise ApiException(http_resp=response, body=data.decode("utf-8", "replace"))
        return data.decode("utf-8", "replace")
