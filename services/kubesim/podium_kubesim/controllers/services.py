"""Endpoints for selector Services (updated as pods and labels change) and load-balancer addresses.

ClusterIPs and node ports are allocated by the API on create (defaults.py). LoadBalancer Services get an
AWS-NLB-like hostname after `timings.loadBalancerSeconds`:
`k8s-<ns>-<name>-<hash>.elb.<region>.amazonaws.com`, prefixed `internal-` when the scheme annotation asks
for an internal load balancer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from podium_kubesim.controllers.base import Controller, Key
from podium_kubesim.controllers.endpointslices import build_slice, sync_slice
from podium_kubesim.controllers.podutil import (
    Obj,
    annotations_of,
    is_ready,
    is_terminal,
    is_terminating,
    key_of,
    labels_of,
    meta,
    now_ts,
    short_hash,
)
from podium_kubesim.resources import resource
from podium_kubesim.selectors import Requirement, labels_match

ENDPOINTS = resource("endpoints")
SERVICES = resource("services")
INTERNAL_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
}


def selector_of(svc: Obj) -> tuple[Requirement, ...] | None:
    sel = (svc.get("spec") or {}).get("selector")
    if not sel:
        return None
    return tuple(Requirement(str(k), "=", (str(v),)) for k, v in sel.items())


def load_balancer_hostname(svc: Obj, region: str) -> str:
    m = meta(svc)
    ns, name = str(m.get("namespace")), str(m.get("name"))
    ann = annotations_of(svc)
    internal = any(ann.get(k, "").lower() == v for k, v in INTERNAL_ANNOTATIONS.items())
    # The AWS Load Balancer Controller truncates namespace and name to 8 characters each.
    base = f"k8s-{ns[:8]}-{name[:8]}-{short_hash(str(m.get('uid')) + ns + name, 10)}"
    return f"{'internal-' if internal else ''}{base}.elb.{region}.amazonaws.com"


def _resolve_port(pod: Obj, target: Any) -> int | None:
    if isinstance(target, int):
        return target
    text = str(target)
    if text.isdigit():
        return int(text)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == text:
                return int(p["containerPort"])
    return None


def endpoint_subsets(svc: Obj, pods: list[Obj]) -> list[Obj]:
    """Endpoints subsets: one per distinct resolved port set; ready pods in addresses, others notReady."""
    spec = svc.get("spec") or {}
    namespace = meta(svc).get("namespace")
    publish_all = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple[Any, ...], dict[str, list[Obj]]] = {}
    for pod in pods:
        ip = (pod.get("status") or {}).get("podIP")
        if not ip or is_terminal(pod) or is_terminating(pod):
            continue
        ports = []
        for sp in spec.get("ports") or []:
            port = _resolve_port(pod, sp.get("targetPort", sp.get("port")))
            if port is None:
                continue
            entry: Obj = {"port": port, "protocol": sp.get("protocol", "TCP")}
            if sp.get("name"):
                entry["name"] = sp["name"]
            ports.append(entry)
        port_key = tuple(sorted((p.get("name", ""), p["port"], p["protocol"]) for p in ports))
        group = groups.setdefault(port_key, {"ports": ports, "addresses": [], "notReadyAddresses": []})
        address = {
            "ip": ip,
            "nodeName": (pod.get("spec") or {}).get("nodeName"),
            "targetRef": {
                "kind": "Pod",
                "namespace": namespace,
                "name": meta(pod).get("name"),
                "uid": meta(pod).get("uid"),
            },
        }
        group["addresses" if publish_all or is_ready(pod) else "notReadyAddresses"].append(address)
    subsets = []
    for g in groups.values():
        subset: Obj = {}
        if g["addresses"]:
            subset["addresses"] = g["addresses"]
        if g["notReadyAddresses"]:
            subset["notReadyAddresses"] = g["notReadyAddresses"]
        if g["ports"]:
            subset["ports"] = g["ports"]
        subsets.append(subset)
    return subsets


def _pod_fingerprint(pod: Obj | None) -> tuple[Any, ...] | None:
    if pod is None:
        return None
    return (
        tuple(sorted(labels_of(pod).items())),
        (pod.get("status") or {}).get("podIP"),
        is_ready(pod),
        is_terminal(pod),
        is_terminating(pod),
        (pod.get("spec") or {}).get("nodeName"),
    )


class EndpointsController(Controller):
    name = "endpoint-controller"
    component = "endpoint-controller"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.by_ns: dict[str, dict[str, tuple[Requirement, ...] | None]] = {}
        self.lb_due: dict[Key, float] = {}

    def prime(self) -> None:
        for key, svc in self.cache.objects["services"].items():
            self.by_ns.setdefault(key[0], {})[key[1]] = selector_of(svc)
            self.queue.add(key)

    def on_event(self, kind: str, etype: str, obj: Obj, old: Obj | None) -> None:
        if kind == "services":
            key = key_of(obj)
            if etype == "DELETED":
                self.by_ns.get(key[0], {}).pop(key[1], None)
            else:
                self.by_ns.setdefault(key[0], {})[key[1]] = selector_of(obj)
            self.queue.add(key)
        elif kind == "pods":
            if etype == "MODIFIED" and _pod_fingerprint(old) == _pod_fingerprint(obj):
                return
            ns = meta(obj).get("namespace") or ""
            for name, sel in self.by_ns.get(ns, {}).items():
                if sel is None:
                    continue
                if labels_match(sel, labels_of(obj)) or (
                    old is not None and labels_match(sel, labels_of(old))
                ):
                    self.queue.add((ns, name))
        elif kind == "endpoints" and etype == "DELETED":
            self.queue.add(key_of(obj))  # someone deleted our Endpoints: recreate them

    def reconcile(self, key: Any) -> None:
        svc = self.cache.get("services", key)
        if svc is None:
            self.lb_due.pop(key, None)
            if self.store.peek(ENDPOINTS, key[0], key[1]) is not None:
                self.store.delete(ENDPOINTS, key[0], key[1], manager=self.name)
            return
        self._sync_endpoints(svc, key)
        self._sync_load_balancer(svc, key)

    def _sync_endpoints(self, svc: Obj, key: Key) -> None:
        sel = selector_of(svc)
        if sel is None:
            return  # Endpoints of selector-less Services belong to whoever wrote them
        pods = sorted(
            (p for p in self.cache.pods_in(key[0]) if labels_match(sel, labels_of(p))),
            key=lambda p: str(meta(p).get("name")),
        )
        desired_slice = build_slice(svc, pods, self._zone, _resolve_port)
        sync_slice(self.store, self.name, svc, desired_slice)
        subsets = endpoint_subsets(svc, pods)
        labels = dict(labels_of(svc))
        labels["endpointslice.kubernetes.io/skip-mirror"] = "true"
        current = self.store.peek(ENDPOINTS, key[0], key[1])
        if current is None:
            body: Obj = {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {
                    "name": key[1],
                    "namespace": key[0],
                    "labels": labels,
                    "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": now_ts()},
                },
            }
            if subsets:
                body["subsets"] = subsets
            self.store.create(ENDPOINTS, key[0], body, manager=self.name)
            return
        if current.get("subsets", []) == subsets and labels_of(current) == labels:
            return

        def put(o: Obj) -> None:
            o["metadata"]["labels"] = labels
            o["metadata"].setdefault("annotations", {})[
                "endpoints.kubernetes.io/last-change-trigger-time"
            ] = now_ts()
            if subsets:
                o["subsets"] = subsets
            else:
                o.pop("subsets", None)

        self.store.mutate(ENDPOINTS, key[0], key[1], put, manager=self.name)

    def _zone(self, node: str) -> str | None:
        found = self.cache.get("nodes", ("", node))
        return labels_of(found).get("topology.kubernetes.io/zone") if found else None

    def _sync_load_balancer(self, svc: Obj, key: Key) -> None:
        spec = svc.get("spec") or {}
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress")
        if spec.get("type") != "LoadBalancer":
            self.lb_due.pop(key, None)
            if ingress:
                self.store.mutate(
                    SERVICES, key[0], key[1], _clear_ingress, subresource="status", manager=self.name
                )
            return
        if ingress:
            return
        now = asyncio.get_running_loop().time()
        due = self.lb_due.get(key)
        if due is None:
            self.record(svc, "EnsuringLoadBalancer", "Ensuring load balancer")
            delay = self.sim.clock.delay(self.settings.timings.load_balancer_seconds)
            self.lb_due[key] = now + delay
            self.queue.add_after(key, delay)
            return
        if now + 1e-3 < due:
            self.queue.add_after(key, due - now)
            return
        hostname = load_balancer_hostname(svc, self.settings.region)

        def put(o: Obj) -> None:
            o.setdefault("status", {})["loadBalancer"] = {"ingress": [{"hostname": hostname}]}

        self.store.mutate(SERVICES, key[0], key[1], put, subresource="status", manager=self.name)
        self.lb_due.pop(key, None)
        self.record(svc, "EnsuredLoadBalancer", "Ensured load balancer")


def _clear_ingress(o: Obj) -> None:
    o.setdefault("status", {})["loadBalancer"] = {}
