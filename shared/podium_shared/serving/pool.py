"""Pool arithmetic on lists of pods: status, the fewest relabels to reach a distribution, and which pods a
scale-down may remove. Pure functions over pod dicts (as the Kubernetes API returns them), so the watcher's
snapshot, a live list and a test all feed the same code."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from podium_shared.errors import Conflict, Invalid
from podium_shared.serving import labels as L


@dataclass(frozen=True)
class PoolPod:
    name: str
    business: str
    ready: bool
    terminating: bool = False

    @classmethod
    def from_obj(cls, pod: dict[str, Any]) -> PoolPod:
        meta = pod.get("metadata") or {}
        conditions = (pod.get("status") or {}).get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        return cls(
            name=str(meta.get("name")),
            business=str((meta.get("labels") or {}).get(L.BUSINESS, L.UNASSIGNED)),
            ready=ready,
            terminating=bool(meta.get("deletionTimestamp")),
        )


@dataclass(frozen=True)
class Move:
    pod: str
    source: str
    target: str


def live(pods: list[PoolPod]) -> list[PoolPod]:
    # A terminating pod is already leaving; it counts for nothing and is never planned for.
    return [p for p in pods if not p.terminating]


def status(pods: list[PoolPod]) -> dict[str, Any]:
    alive = live(pods)
    by_business = Counter(p.business for p in alive)
    ready_by_business = Counter(p.business for p in alive if p.ready)
    return {
        "total_pods": len(alive),
        "ready_pods": sum(1 for p in alive if p.ready),
        "terminating_pods": len(pods) - len(alive),
        "pods_per_business": dict(sorted(by_business.items())),
        "ready_per_business": dict(sorted(ready_by_business.items())),
        "available_for_scale_down": by_business.get(L.UNASSIGNED, 0),
        "pods": [
            {"name": p.name, "business": p.business, "ready": p.ready, "terminating": p.terminating}
            for p in sorted(pods, key=lambda p: p.name)
        ],
    }


def counts_from_ratios(ratios: dict[str, int], total: int) -> dict[str, int]:
    """Largest remainder: every pod is placed, each business gets ⌊share⌋ and the leftovers go to the
    largest fractional parts (ties by name, so the plan is deterministic)."""
    weight = sum(ratios.values())
    if weight <= 0:
        raise Invalid("ratios must not all be zero", details={"field": "ratios"})
    exact = {b: total * r / weight for b, r in ratios.items()}
    counts = {b: int(v) for b, v in exact.items()}
    leftover = total - sum(counts.values())
    for b in sorted(exact, key=lambda b: (-(exact[b] - counts[b]), b))[:leftover]:
        counts[b] += 1
    return counts


def plan_distribution(
    pods: list[PoolPod], *, ratios: dict[str, int] | None = None, counts: dict[str, int] | None = None
) -> list[Move]:
    """The fewest relabels that reach the target. Businesses not named go to zero; with `counts`, pods not
    placed become `unassigned`. Pods that stay put are preferred ready ones, so serving capacity is kept;
    moved pods are drawn not-ready first."""
    alive = live(pods)
    if ratios is not None:
        target = counts_from_ratios(ratios, len(alive))
    elif counts is not None:
        placed = sum(n for b, n in counts.items() if b != L.UNASSIGNED)
        if placed > len(alive):
            raise Conflict(
                f"the pool has {len(alive)} pods, the counts ask for {placed}",
                details={"pods": len(alive), "requested": placed},
            )
        target = {b: n for b, n in counts.items() if b != L.UNASSIGNED}
        target[L.UNASSIGNED] = len(alive) - placed
    else:
        raise Invalid("give ratios or counts")
    target = {b: n for b, n in target.items() if n > 0}

    by_business: dict[str, list[PoolPod]] = {}
    for p in sorted(alive, key=lambda p: (p.ready, p.name)):  # not-ready first: they move first
        by_business.setdefault(p.business, []).append(p)
    surplus: list[PoolPod] = []
    for business, members in by_business.items():
        extra = len(members) - target.get(business, 0)
        if extra > 0:
            surplus.extend(members[:extra])
    deficits = [(b, n - len(by_business.get(b, []))) for b, n in sorted(target.items())]
    moves: list[Move] = []
    # Ready pods fill the businesses first, so a business that gains pods gains serving ones.
    queue = sorted(surplus, key=lambda p: (not p.ready, p.name))
    for business, missing in deficits:
        for _ in range(max(0, missing)):
            pod = queue.pop(0)
            moves.append(Move(pod=pod.name, source=pod.business, target=business))
    return moves


def plan_scale_down(pods: list[PoolPod], remove: int) -> list[str]:
    """The unassigned pods a scale-down by `remove` takes (not-ready first, then by name)."""
    if remove <= 0:
        return []
    spare = sorted((p for p in live(pods) if p.business == L.UNASSIGNED), key=lambda p: (p.ready, p.name))
    if len(spare) < remove:
        raise Conflict(
            f"need {remove} unassigned pods, only {len(spare)} available",
            details={"needed": remove, "available": len(spare)},
        )
    return [p.name for p in spare[:remove]]


def deletion_costs(pods: list[PoolPod], chosen: list[str]) -> dict[str, str]:
    """The pod-deletion-cost each live pod must carry so the ReplicaSet removes exactly `chosen`."""
    picked = set(chosen)
    return {p.name: (L.DELETION_COST_LOW if p.name in picked else L.DELETION_COST_HIGH) for p in live(pods)}
