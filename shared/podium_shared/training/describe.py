"""A training job, its pods and events as the job page and `podium train describe` show them. Pure
functions of the objects (from the watcher's snapshot), so the same summary serves every surface."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from podium_shared.training import labels as L

KIND_TO_TYPE = {"PyTorchJob": "pytorchjob", "HyperPodPyTorchJob": "hyperpod"}
# The condition types that end a job (Kubeflow says Succeeded, HyperPod says Completed).
_SUCCEEDED = ("Succeeded", "Completed")
REPLICA_TYPE = "training.kubeflow.org/replica-type"
REPLICA_INDEX = "training.kubeflow.org/replica-index"
MAX_EVENTS = 100


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def job_status(job: dict[str, Any]) -> dict[str, Any]:
    """{phase: Pending | Running | Succeeded | Failed, reason, message} from the operator's conditions."""
    conditions = {c.get("type"): c for c in (job.get("status") or {}).get("conditions") or []}

    def holds(t: str) -> dict[str, Any] | None:
        c = conditions.get(t)
        return c if c and c.get("status") == "True" else None

    for phase, types in (("Failed", ("Failed",)), ("Succeeded", _SUCCEEDED), ("Running", ("Running",))):
        for t in types:
            c = holds(t)
            if c is not None:
                return {"phase": phase, "reason": c.get("reason"), "message": c.get("message")}
    c = holds("Created") or {}
    return {"phase": "Pending", "reason": c.get("reason"), "message": c.get("message")}


def settings_of(job: dict[str, Any]) -> dict[str, Any] | None:
    raw = ((job.get("metadata") or {}).get("annotations") or {}).get(L.SETTINGS)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def owned_by(obj: dict[str, Any], uid: str) -> bool:
    return any(r.get("uid") == uid for r in (obj.get("metadata") or {}).get("ownerReferences") or [])


def pod_summary(pod: dict[str, Any]) -> dict[str, Any]:
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    terminated = next(
        (
            (cs.get("state") or {}).get("terminated") or (cs.get("lastState") or {}).get("terminated")
            for cs in statuses
            if (cs.get("state") or {}).get("terminated") or (cs.get("lastState") or {}).get("terminated")
        ),
        None,
    )
    waiting = next(
        ((cs.get("state") or {}).get("waiting") for cs in statuses if (cs.get("state") or {}).get("waiting")),
        None,
    )
    return {
        "name": meta.get("name"),
        "role": labels.get(REPLICA_TYPE),
        "index": labels.get(REPLICA_INDEX),
        "node": (pod.get("spec") or {}).get("nodeName"),
        "phase": status.get("phase"),
        "restarts": sum(int(cs.get("restartCount") or 0) for cs in statuses),
        "started_at": status.get("startTime"),
        "exit_code": terminated.get("exitCode") if terminated else None,
        "reason": (terminated or waiting or {}).get("reason"),
        "message": (terminated or waiting or {}).get("message"),
        "finished_at": terminated.get("finishedAt") if terminated else None,
    }


def _pod_order(p: dict[str, Any]) -> tuple[int, str, int]:
    role = str(p.get("role") or "")
    index = int(p["index"]) if str(p.get("index") or "").isdigit() else 0
    return (0 if role == "master" else 1, role, index)


def event_summary(ev: dict[str, Any]) -> dict[str, Any]:
    obj = ev.get("involvedObject") or {}
    return {
        "type": ev.get("type"),
        "reason": ev.get("reason"),
        "message": ev.get("message"),
        "object": f"{obj.get('kind')}/{obj.get('name')}",
        "count": ev.get("count") or 1,
        "first": ev.get("firstTimestamp") or ev.get("eventTime"),
        "last": ev.get("lastTimestamp") or ev.get("eventTime") or ev.get("firstTimestamp"),
    }


def describe_job(
    job: dict[str, Any], pods: list[dict[str, Any]], events: list[dict[str, Any]]
) -> dict[str, Any]:
    """`pods` and `events` may hold the whole namespace: the job's own are picked by owner uid and name."""
    meta = job.get("metadata") or {}
    uid = str(meta.get("uid") or "")
    status = job.get("status") or {}
    own_pods = sorted((pod_summary(p) for p in pods if owned_by(p, uid)), key=_pod_order)
    names = {p["name"] for p in own_pods} | {meta.get("name")}
    own_events = sorted(
        (
            event_summary(e)
            for e in events
            if (e.get("involvedObject") or {}).get("uid") == uid
            or (
                (e.get("involvedObject") or {}).get("kind") == "Pod"
                and (e.get("involvedObject") or {}).get("name") in names
            )
        ),
        key=lambda e: str(e["last"] or ""),
    )[-MAX_EVENTS:]
    start, end = _time(status.get("startTime")), _time(status.get("completionTime"))
    state = job_status(job)
    failure = None
    if state["phase"] == "Failed":
        failed = [p for p in own_pods if p["phase"] == "Failed" or (p["exit_code"] or 0) != 0]
        failure = {
            "reason": state["reason"],
            "message": state["message"],
            # The pod's own words (its termination message or last error) say why; the job's only how many.
            "pods": [{k: p[k] for k in ("name", "exit_code", "reason", "message")} for p in failed],
        }
    annotations = meta.get("annotations") or {}
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "kind": job.get("kind"),
        "type": KIND_TO_TYPE.get(str(job.get("kind"))),
        "uid": uid,
        "created": meta.get("creationTimestamp"),
        "managed_by_podium": L.is_managed(job),
        "operation_id": annotations.get(L.OPERATION),
        "settings": settings_of(job),
        "status": state,
        "conditions": [
            {k: c.get(k) for k in ("type", "status", "reason", "message", "lastTransitionTime")}
            for c in status.get("conditions") or []
        ],
        "replica_statuses": status.get("replicaStatuses") or {},
        "failure": failure,
        "start": status.get("startTime"),
        "end": status.get("completionTime"),
        "duration_seconds": (end - start).total_seconds() if start and end else None,
        "pods": own_pods,
        "events": own_events,
    }
