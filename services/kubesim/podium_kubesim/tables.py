"""Server-side printing (meta.k8s.io/v1 Table) that `kubectl get` asks for, with the real columns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from podium_kubesim.objutil import parse_rfc3339
from podium_kubesim.resources import Resource

if TYPE_CHECKING:
    from podium_kubesim.sim import KubeSim

Column = tuple[str, str, int, Callable[[dict[str, Any]], Any]]  # name, type, priority, cell function


def wants_table(request: Request) -> bool:
    return "as=Table" in request.headers.get("accept", "")


def age(ts: str | None, now: datetime | None = None) -> str:  # noqa: PLR0911 - kubectl's duration buckets
    if not ts:
        return "<unknown>"
    seconds = int(((now or datetime.now(UTC)) - parse_rfc3339(ts)).total_seconds())
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    return f"{days}d{hours % 24}h" if days < 8 and hours % 24 else f"{days}d"


def _name(o: dict[str, Any]) -> str:
    return str(o["metadata"]["name"])


def _age(o: dict[str, Any]) -> str:
    return age(o["metadata"].get("creationTimestamp"))


def pod_status(o: dict[str, Any]) -> str:
    status = o.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for cs in status.get("initContainerStatuses") or []:
        state = cs.get("state") or {}
        if (state.get("terminated") or {}).get("exitCode", 0) == 0 and "terminated" in state:
            continue
        waiting = (state.get("waiting") or {}).get("reason")
        if waiting and waiting != "PodInitializing":
            return f"Init:{waiting}"
    for cs in reversed(status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    if o["metadata"].get("deletionTimestamp"):
        return "Terminating"
    return str(reason)


def _pod_ready(o: dict[str, Any]) -> str:
    containers = (o.get("spec") or {}).get("containers") or []
    ready = sum(1 for cs in (o.get("status") or {}).get("containerStatuses") or [] if cs.get("ready"))
    return f"{ready}/{len(containers)}"


def _restarts(o: dict[str, Any]) -> int:
    return sum(
        int(cs.get("restartCount", 0)) for cs in (o.get("status") or {}).get("containerStatuses") or []
    )


def _svc_external(o: dict[str, Any]) -> str:
    spec = o.get("spec") or {}
    if spec.get("type") == "LoadBalancer":
        ingress = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        names = [i.get("hostname") or i.get("ip") for i in ingress]
        return ",".join(n for n in names if n) or "<pending>"
    return ",".join(spec.get("externalIPs") or []) or "<none>"


def _svc_ports(o: dict[str, Any]) -> str:
    parts = []
    for p in (o.get("spec") or {}).get("ports") or []:
        text = f"{p.get('port')}"
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        parts.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _node_status(o: dict[str, Any]) -> str:
    ready = next(
        (c for c in (o.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None
    )
    text = "Ready" if ready and ready.get("status") == "True" else "NotReady" if ready else "Unknown"
    if (o.get("spec") or {}).get("unschedulable"):
        text += ",SchedulingDisabled"
    return text


def _node_roles(o: dict[str, Any]) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = [k[len(prefix) :] for k in (o["metadata"].get("labels") or {}) if k.startswith(prefix)]
    return ",".join(sorted(roles)) or "<none>"


def _job_status(o: dict[str, Any]) -> str:
    for c in (o.get("status") or {}).get("conditions") or []:
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed", "Suspended"):
            return str(c["type"])
    return "Running"


def _images(o: dict[str, Any]) -> str:
    spec = ((o.get("spec") or {}).get("template") or {}).get("spec") or {}
    return ",".join(c.get("image", "") for c in spec.get("containers") or [])


def _containers(o: dict[str, Any]) -> str:
    spec = ((o.get("spec") or {}).get("template") or {}).get("spec") or {}
    return ",".join(c.get("name", "") for c in spec.get("containers") or [])


def _selector(o: dict[str, Any]) -> str:
    sel = (o.get("spec") or {}).get("selector") or {}
    labels = sel.get("matchLabels", sel) if isinstance(sel, dict) else {}
    return ",".join(f"{k}={v}" for k, v in labels.items() if isinstance(v, str)) or "<none>"


def _st(o: dict[str, Any], key: str, default: Any = 0) -> Any:
    return (o.get("status") or {}).get(key, default)


def _sp(o: dict[str, Any], key: str, default: Any = 0) -> Any:
    return (o.get("spec") or {}).get(key, default)


def _event_object(o: dict[str, Any]) -> str:
    inv = o.get("involvedObject") or o.get("regarding") or {}
    return f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}"


def _node_info(o: dict[str, Any], key: str) -> str:
    return str((_st(o, "nodeInfo", {}) or {}).get(key, ""))


def _node_address(o: dict[str, Any], kind: str) -> str:
    """The first address of that type, `<none>` without one (the node printer's getNodeExternalIP)."""
    for a in _st(o, "addresses", []) or []:
        if a.get("type") == kind:
            return str(a.get("address", ""))
    return "<none>"


_NAME: Column = ("Name", "string", 0, _name)
_AGE: Column = ("Age", "string", 0, _age)

COLUMNS: dict[str, list[Column]] = {
    "pods": [
        _NAME,
        ("Ready", "string", 0, _pod_ready),
        ("Status", "string", 0, pod_status),
        ("Restarts", "string", 0, lambda o: str(_restarts(o))),
        _AGE,
        ("IP", "string", 1, lambda o: _st(o, "podIP", "<none>")),
        ("Node", "string", 1, lambda o: _sp(o, "nodeName", "<none>")),
        ("Nominated Node", "string", 1, lambda o: _st(o, "nominatedNodeName", "<none>")),
        ("Readiness Gates", "string", 1, lambda o: "<none>"),
    ],
    "deployments.apps": [
        _NAME,
        ("Ready", "string", 0, lambda o: f"{_st(o, 'readyReplicas')}/{_sp(o, 'replicas')}"),
        ("Up-to-date", "integer", 0, lambda o: _st(o, "updatedReplicas")),
        ("Available", "integer", 0, lambda o: _st(o, "availableReplicas")),
        _AGE,
        ("Containers", "string", 1, _containers),
        ("Images", "string", 1, _images),
        ("Selector", "string", 1, _selector),
    ],
    "replicasets.apps": [
        _NAME,
        ("Desired", "integer", 0, lambda o: _sp(o, "replicas")),
        ("Current", "integer", 0, lambda o: _st(o, "replicas")),
        ("Ready", "integer", 0, lambda o: _st(o, "readyReplicas")),
        _AGE,
        ("Containers", "string", 1, _containers),
        ("Images", "string", 1, _images),
        ("Selector", "string", 1, _selector),
    ],
    "services": [
        _NAME,
        ("Type", "string", 0, lambda o: _sp(o, "type", "ClusterIP")),
        ("Cluster-IP", "string", 0, lambda o: _sp(o, "clusterIP", "<none>")),
        ("External-IP", "string", 0, _svc_external),
        ("Port(s)", "string", 0, _svc_ports),
        _AGE,
        ("Selector", "string", 1, _selector),
    ],
    "nodes": [
        _NAME,
        ("Status", "string", 0, _node_status),
        ("Roles", "string", 0, _node_roles),
        _AGE,
        ("Version", "string", 0, lambda o: _node_info(o, "kubeletVersion")),
        ("Internal-IP", "string", 1, lambda o: _node_address(o, "InternalIP")),
        ("External-IP", "string", 1, lambda o: _node_address(o, "ExternalIP")),
        ("OS-Image", "string", 1, lambda o: _node_info(o, "osImage")),
        ("Kernel-Version", "string", 1, lambda o: _node_info(o, "kernelVersion")),
        ("Container-Runtime", "string", 1, lambda o: _node_info(o, "containerRuntimeVersion")),
    ],
    "namespaces": [_NAME, ("Status", "string", 0, lambda o: _st(o, "phase", "Active")), _AGE],
    "jobs.batch": [
        _NAME,
        ("Status", "string", 0, _job_status),
        ("Completions", "string", 0, lambda o: f"{_st(o, 'succeeded')}/{_sp(o, 'completions', 1)}"),
        (
            "Duration",
            "string",
            0,
            lambda o: age(_st(o, "startTime", None)) if _st(o, "startTime", None) else "",
        ),
        _AGE,
    ],
    "events": [
        (
            "Last Seen",
            "string",
            0,
            lambda o: age(o.get("lastTimestamp") or o["metadata"].get("creationTimestamp")),
        ),
        ("Type", "string", 0, lambda o: o.get("type", "")),
        ("Reason", "string", 0, lambda o: o.get("reason", "")),
        ("Object", "string", 0, _event_object),
        ("Message", "string", 0, lambda o: o.get("message") or o.get("note") or ""),
    ],
    "endpoints": [
        _NAME,
        (
            "Endpoints",
            "string",
            0,
            lambda o: (
                ",".join(
                    f"{a.get('ip')}:{p.get('port')}"
                    for s in o.get("subsets") or []
                    for a in s.get("addresses") or []
                    for p in s.get("ports") or [{}]
                )
                or "<none>"
            ),
        ),
        _AGE,
    ],
    "configmaps": [
        _NAME,
        ("Data", "integer", 0, lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
        _AGE,
    ],
    "secrets": [
        _NAME,
        ("Type", "string", 0, lambda o: o.get("type", "Opaque")),
        ("Data", "integer", 0, lambda o: len(o.get("data") or {})),
        _AGE,
    ],
    "persistentvolumeclaims": [
        _NAME,
        ("Status", "string", 0, lambda o: _st(o, "phase", "Pending")),
        ("Volume", "string", 0, lambda o: _sp(o, "volumeName", "")),
        _AGE,
    ],
    "serviceaccounts": [_NAME, ("Secrets", "integer", 0, lambda o: len(o.get("secrets") or [])), _AGE],
}


def table(
    sim: KubeSim, res: Resource, items: list[dict[str, Any]], request: Request, single: bool = False
) -> dict[str, Any]:
    columns = COLUMNS.get(res.storage_key, [_NAME, _AGE])
    include = request.query_params.get("includeObject", "Metadata")
    rows = []
    for obj in items:
        if include == "Object":
            embedded: dict[str, Any] | None = obj
        elif include == "None":
            embedded = None
        else:
            embedded = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        row: dict[str, Any] = {"cells": [fn(obj) for (_, _, _, fn) in columns]}
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": str(sim.store.resource_version)},
        "columnDefinitions": [
            {
                "name": name,
                "type": typ,
                "format": "name" if name == "Name" else "",
                "description": name,
                "priority": prio,
            }
            for (name, typ, prio, _) in columns
        ],
        "rows": rows,
    }
