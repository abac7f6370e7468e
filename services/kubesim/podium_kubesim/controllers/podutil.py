"""Small helpers over pod/object dicts shared by the controllers (pure functions, no store access)."""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from kubernetes.utils.quantity import parse_quantity

Obj = dict[str, Any]

GPU = "nvidia.com/gpu"
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
POD_TEMPLATE_HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"

# apimachinery's rand.SafeEncodeString alphabet: no vowels (no accidental words), no confusable 0/1/3.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def key_of(obj: Mapping[str, Any]) -> tuple[str, str]:
    m = meta(obj)
    return (m.get("namespace") or "", m.get("name") or "")


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return meta(obj).get("labels") or {}


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return meta(obj).get("annotations") or {}


def controller_uid(obj: Mapping[str, Any]) -> str | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


def owner_ref(owner: Mapping[str, Any], api_version: str, kind: str) -> Obj:
    m = meta(owner)
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": m["name"],
        "uid": m["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod_from_template(
    owner: Mapping[str, Any],
    api_version: str,
    kind: str,
    *,
    namespace: str,
    base: str,
    taken: Callable[[str], bool],
) -> Obj:
    """A new Pod for `owner`'s `spec.template` (the real controllers' GetPodFromTemplate): the template's
    labels and annotations, a controller ownerReference, and a generateName-style name `<base><5 chars>`
    that `taken` says is free (retried like the API server retries generateName on a collision)."""
    template = json_clone((owner.get("spec") or {}).get("template") or {})
    tmeta = template.get("metadata") or {}
    for _ in range(8):
        name = base + random_suffix()
        if not taken(name):
            break
    pod: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "generateName": base,
            "namespace": namespace,
            "labels": dict(tmeta.get("labels") or {}),
            "ownerReferences": [owner_ref(owner, api_version, kind)],
        },
        "spec": template.get("spec") or {},
    }
    if tmeta.get("annotations"):
        pod["metadata"]["annotations"] = dict(tmeta["annotations"])
    return pod


def random_suffix(n: int = 5, rng: random.Random | None = None) -> str:
    r = rng or random
    return "".join(r.choice(SAFE_ALPHABET) for _ in range(n))


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(value: int) -> str:
    """rand.SafeEncodeString(fmt.Sprint(hash)): each byte of the decimal string mapped onto SAFE_ALPHABET."""
    return "".join(SAFE_ALPHABET[ord(d) % len(SAFE_ALPHABET)] for d in str(value))


def template_hash(template: Mapping[str, Any], collision_count: int = 0) -> str:
    """pod-template-hash: fnv32a over a canonical dump of the template (without its own hash label)."""
    t = json.loads(json.dumps(template))
    labels = (t.get("metadata") or {}).get("labels") or {}
    labels.pop(POD_TEMPLATE_HASH, None)
    data = json.dumps(t, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    h = fnv32a(data)
    # The real controller yields 9-10 characters; keep ours in that range too.
    return safe_encode(h)[:10]


def short_hash(text: str, n: int = 10) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


# --- time ----------------------------------------------------------------------------------------


def now_ts() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    text = value.replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


# --- pod state -----------------------------------------------------------------------------------


def phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def is_terminating(obj: Mapping[str, Any]) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return phase(pod) in ("Succeeded", "Failed")


def run_to_completion(pod: Mapping[str, Any]) -> bool:
    """Pods whose containers are expected to exit (restartPolicy Never / OnFailure: jobs, training)."""
    return (pod.get("spec") or {}).get("restartPolicy", "Always") in ("Never", "OnFailure")


def is_active(pod: Mapping[str, Any]) -> bool:
    """controller.FilterActivePods: not finished and not being deleted."""
    return not is_terminal(pod) and not is_terminating(pod)


def condition(obj: Mapping[str, Any], ctype: str) -> dict[str, Any] | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return dict(c)
    return None


def is_ready(pod: Mapping[str, Any]) -> bool:
    # Hot (status counters scan every pod of a set): read the condition in place rather than copy it.
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return bool(c.get("status") == "True")
    return False


def ready_time(pod: Mapping[str, Any]) -> datetime | None:
    c = condition(pod, "Ready")
    if not c or c.get("status") != "True":
        return None
    return parse_ts(c.get("lastTransitionTime"))


def is_available(pod: Mapping[str, Any], min_ready_seconds: int, now: datetime | None = None) -> bool:
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    t = ready_time(pod)
    now = now or datetime.now(UTC)
    return t is not None and (now - t).total_seconds() >= min_ready_seconds


def max_restarts(pod: Mapping[str, Any]) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def set_condition(
    status: dict[str, Any],
    ctype: str,
    value: str,
    reason: str | None = None,
    message: str | None = None,
    *,
    probe_time: bool = False,
) -> None:
    """Set a condition, moving lastTransitionTime only when its status actually changes."""
    conds: list[dict[str, Any]] = status.setdefault("conditions", [])
    now = now_ts()
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != value:
                c["lastTransitionTime"] = now
            c["status"] = value
            if probe_time:
                c["lastProbeTime"] = None
            _set_opt(c, "reason", reason)
            _set_opt(c, "message", message)
            return
    new: dict[str, Any] = {"type": ctype, "status": value, "lastTransitionTime": now}
    if probe_time:
        new["lastProbeTime"] = None
    _set_opt(new, "reason", reason)
    _set_opt(new, "message", message)
    conds.append(new)


def _set_opt(c: dict[str, Any], key: str, value: str | None) -> None:
    if value is None:
        c.pop(key, None)
    else:
        c[key] = value


# --- resources -----------------------------------------------------------------------------------


def quantity(value: Any) -> Decimal:
    try:
        # The client's parser is untyped but returns a Decimal.
        return Decimal(parse_quantity(value))  # type: ignore[no-untyped-call]
    except (ValueError, TypeError):
        return Decimal(0)


def container_requests(container: Mapping[str, Any]) -> dict[str, Decimal]:
    res = container.get("resources") or {}
    requests = {k: quantity(v) for k, v in (res.get("requests") or {}).items()}
    # Limits imply requests when requests are absent (apiserver defaulting does this for every resource).
    for k, v in (res.get("limits") or {}).items():
        requests.setdefault(k, quantity(v))
    return requests


def pod_requests(pod: Mapping[str, Any]) -> dict[str, Decimal]:
    """Effective pod requests: max(sum of containers, any init container), as the scheduler computes them."""
    spec = pod.get("spec") or {}
    total: dict[str, Decimal] = {}
    for c in spec.get("containers") or []:
        for k, v in container_requests(c).items():
            total[k] = total.get(k, Decimal(0)) + v
    for c in spec.get("initContainers") or []:
        for k, v in container_requests(c).items():
            if v > total.get(k, Decimal(0)):
                total[k] = v
    for k, v in (spec.get("overhead") or {}).items():
        total[k] = total.get(k, Decimal(0)) + quantity(v)
    return total


# --- ReplicaSet scale-down victim order ----------------------------------------------------------

_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_cost(pod: Mapping[str, Any]) -> int:
    raw = annotations_of(pod).get(DELETION_COST)
    if raw is None:
        return 0
    try:
        return int(raw)
    except ValueError:
        # The apiserver rejects non-int32 values; treat anything that slipped through as the default.
        return 0


def _log_bucket(t: datetime | None, now: datetime) -> float:
    """LogarithmicScaleDown: compare durations by floor(log2(seconds)) so near-equal ages tie."""
    if t is None:
        return 0.0
    seconds = (now - t).total_seconds()
    if seconds <= 0:
        return 0.0
    return float(math.floor(math.log2(seconds))) if seconds >= 1 else 0.0


def victim_sort_key(pod: Mapping[str, Any], rank: int, now: datetime) -> tuple[Any, ...]:
    """Sort key reproducing controller_utils.ActivePodsWithRanks.Less; the first pods are deleted first.

    1 unassigned < assigned; 2 Pending < Unknown < Running; 3 not ready < ready; 4 lower deletion cost;
    5 more related pods on the same node first; 6 ready for a shorter time first (log2 buckets);
    7 more restarts first; 8 newer first (log2 buckets); then name, only so ties are deterministic.
    """
    spec = pod.get("spec") or {}
    ready = is_ready(pod)
    created = parse_ts(meta(pod).get("creationTimestamp"))
    return (
        1 if spec.get("nodeName") else 0,
        _PHASE_ORDINAL.get(phase(pod), 0),
        1 if ready else 0,
        deletion_cost(pod),
        -rank,
        _log_bucket(ready_time(pod), now) if ready else 0.0,
        -max_restarts(pod),
        _log_bucket(created, now) if created else -1.0,
        meta(pod).get("name") or "",
    )


def rank_victims(pods: list[Obj], related: list[Obj], now: datetime | None = None) -> list[Obj]:
    """Pods ordered most-deletable first; `related`: all active pods of the owner's family (rank per node)."""
    now = now or datetime.now(UTC)
    per_node: dict[str, int] = {}
    for p in related:
        node = (p.get("spec") or {}).get("nodeName")
        if node:
            per_node[node] = per_node.get(node, 0) + 1

    def key(p: Obj) -> tuple[Any, ...]:
        node = (p.get("spec") or {}).get("nodeName")
        return victim_sort_key(p, per_node.get(node, 0) if node else 0, now)

    return sorted(pods, key=key)


def json_clone(obj: Any) -> Any:
    return json.loads(json.dumps(obj))
