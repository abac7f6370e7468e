"""discovery.k8s.io/v1 EndpointSlices next to the Endpoints: one slice per Service (the real controller
splits at 100 endpoints; one slice is enough for clients that read them), named `<service>-<5 chars>`,
owned by the Service so it goes with it. Terminating pods stay listed with `terminating: true`, as in
the real controller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podium_kubesim.controllers.podutil import (
    Obj,
    fnv32a,
    is_ready,
    is_terminal,
    is_terminating,
    labels_of,
    meta,
    now_ts,
    owner_ref,
    safe_encode,
)
from podium_kubesim.resources import resource
from podium_kubesim.store import Store

ENDPOINT_SLICES = resource("endpointslices.discovery.k8s.io")
MANAGED_BY = "endpointslice-controller.k8s.io"


def slice_name(svc: Obj) -> str:
    return f"{meta(svc)['name']}-{safe_encode(fnv32a(str(meta(svc).get('uid')).encode()))[:5]}"


def build_slice(
    svc: Obj,
    pods: list[Obj],
    zone_of: Callable[[str], str | None],
    resolve_port: Callable[[Obj, Any], int | None],
) -> Obj:
    spec = svc.get("spec") or {}
    endpoints = []
    ports: list[Obj] = []
    for pod in pods:
        ip = (pod.get("status") or {}).get("podIP")
        if not ip or is_terminal(pod):
            continue
        terminating = is_terminating(pod)
        ready = is_ready(pod)
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        ep: Obj = {
            "addresses": [ip],
            "conditions": {"ready": ready and not terminating, "serving": ready, "terminating": terminating},
            "nodeName": node,
            "targetRef": {
                "kind": "Pod",
                "namespace": meta(pod).get("namespace"),
                "name": meta(pod).get("name"),
                "uid": meta(pod).get("uid"),
            },
        }
        zone = zone_of(node)
        if zone:
            ep["zone"] = zone
        endpoints.append(ep)
        if not ports:
            for sp in spec.get("ports") or []:
                port = resolve_port(pod, sp.get("targetPort", sp.get("port")))
                if port is not None:
                    ports.append(
                        {"name": sp.get("name", ""), "port": port, "protocol": sp.get("protocol", "TCP")}
                    )
    labels = dict(labels_of(svc))
    labels.update(
        {
            "kubernetes.io/service-name": str(meta(svc)["name"]),
            "endpointslice.kubernetes.io/managed-by": MANAGED_BY,
        }
    )
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": slice_name(svc),
            "namespace": meta(svc).get("namespace"),
            "labels": labels,
            "ownerReferences": [owner_ref(svc, "v1", "Service")],
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    }


def sync_slice(store: Store, manager: str, svc: Obj, desired: Obj) -> None:
    ns = str(meta(svc).get("namespace"))
    name = desired["metadata"]["name"]
    current = store.peek(ENDPOINT_SLICES, ns, name)
    if current is None:
        desired["metadata"]["annotations"] = {"endpoints.kubernetes.io/last-change-trigger-time": now_ts()}
        store.create(ENDPOINT_SLICES, ns, desired, manager=manager)
        return
    if (
        all(current.get(k) == desired[k] for k in ("endpoints", "ports"))
        and labels_of(current) == desired["metadata"]["labels"]
    ):
        return

    def put(o: Obj) -> None:
        o["metadata"]["labels"] = desired["metadata"]["labels"]
        o["metadata"].setdefault("annotations", {})["endpoints.kubernetes.io/last-change-trigger-time"] = (
            now_ts()
        )
        o["endpoints"] = desired["endpoints"]
        o["ports"] = desired["ports"]

    store.mutate(ENDPOINT_SLICES, ns, name, put, manager=manager)
