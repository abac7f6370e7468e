"""Scheduler: bind pending pods to feasible nodes (resources, selector/affinity, taints), least allocated
first.

Filters run in kube-scheduler's order (NodeUnschedulable, TaintToleration, NodeAffinity, NodeResourcesFit)
and a failure is reported as the real FitError message. Node usage is kept incrementally from pod events,
so one scheduling attempt costs O(nodes) and an event O(1). Pods that do not fit wait until capacity changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from podium_kubesim.controllers.base import Controller, Key
from podium_kubesim.controllers.podutil import (
    GPU,
    Obj,
    is_terminal,
    is_terminating,
    key_of,
    labels_of,
    meta,
    pod_requests,
    quantity,
    set_condition,
)
from podium_kubesim.resources import resource

PODS = resource("pods")
RETRY = ("", "__retry_unschedulable__")
_SCORED = ("cpu", "memory", GPU)


def tolerates(tolerations: list[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        op = t.get("operator") or "Equal"
        if not t.get("key"):
            if op == "Exists":
                return True
            continue
        if t.get("key") != taint.get("key"):
            continue
        if op == "Exists" or (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _compare(have: str | None, want: list[str], greater: bool) -> bool:
    try:
        a, b = int(have or ""), int(want[0])
    except (ValueError, IndexError):
        return False
    return a > b if greater else a < b


_OPERATORS: dict[str, Callable[[str | None, list[str]], bool]] = {
    "In": lambda have, want: have is not None and have in want,
    "NotIn": lambda have, want: have not in want,
    "Exists": lambda have, _: have is not None,
    "DoesNotExist": lambda have, _: have is None,
    "Gt": lambda have, want: _compare(have, want, True),
    "Lt": lambda have, want: _compare(have, want, False),
}


def _expr_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    op = _OPERATORS.get(str(expr.get("operator")))
    values = [str(v) for v in expr.get("values") or []]
    return op is not None and op(labels.get(str(expr.get("key"))), values)


def matches_node(pod: Obj, node: Obj) -> bool:
    """nodeSelector AND required node affinity (terms are ORed, expressions inside a term ANDed)."""
    spec = pod.get("spec") or {}
    labels = labels_of(node)
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    fields = {"metadata.name": meta(node).get("name") or ""}
    for term in terms:
        exprs = term.get("matchExpressions") or []
        fexprs = term.get("matchFields") or []
        if not exprs and not fexprs:
            continue
        if all(_expr_matches(e, labels) for e in exprs) and all(_expr_matches(e, fields) for e in fexprs):
            return True
    return False


def node_allocatable(node: Obj) -> dict[str, Decimal]:
    return {k: quantity(v) for k, v in ((node.get("status") or {}).get("allocatable") or {}).items()}


def node_ready(node: Obj) -> bool:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return bool(c.get("status") == "True")
    return False


def fit_error(total: int, reasons: dict[str, int]) -> str:
    """framework.FitError.Error(): reasons as "<count> <reason>", sorted as strings, like the scheduler."""
    msg = f"0/{total} nodes are available"
    parts = sorted(f"{n} {r}" for r, n in reasons.items())
    return msg + (": " + ", ".join(parts) + "." if parts else ".")


def _taint_text(taint: Mapping[str, Any]) -> str:
    return f"{{{taint.get('key')}: {taint.get('value') or ''}}}"


class Scheduler(Controller):
    name = "default-scheduler"
    component = "default-scheduler"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.used: dict[str, dict[str, Decimal]] = {}
        self.alloc: dict[str, dict[str, Decimal]] = {}
        self.node_names: list[str] = []
        self.waiting: set[Key] = set()  # tried, did not fit; retried when capacity changes

    # --- bookkeeping --------------------------------------------------------------------------

    @staticmethod
    def _contribution(pod: Obj | None) -> tuple[str, dict[str, Decimal]] | None:
        if pod is None:
            return None
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or is_terminal(pod):
            return None
        req = pod_requests(pod)
        req["pods"] = Decimal(1)
        return node, req

    def _account(self, pod: Obj | None, sign: int) -> None:
        c = self._contribution(pod)
        if c is None:
            return
        node, req = c
        used = self.used.setdefault(node, {})
        for k, v in req.items():
            used[k] = used.get(k, Decimal(0)) + sign * v

    def _wants_scheduling(self, pod: Obj) -> bool:
        spec = pod.get("spec") or {}
        return (
            not spec.get("nodeName")
            and not is_terminating(pod)
            and not is_terminal(pod)
            and not spec.get("schedulingGates")
            and spec.get("schedulerName", "default-scheduler") == "default-scheduler"
        )

    def _capacity_changed(self) -> None:
        if self.waiting:
            self.later(RETRY, 0.1)  # coalesce bursts of frees into one retry round

    def prime(self) -> None:
        self._refresh_nodes()
        for pod in self.cache.all("pods"):
            self._account(pod, +1)
            if self._wants_scheduling(pod):
                self.queue.add(key_of(pod))

    def _refresh_nodes(self) -> None:
        self.node_names = sorted(k[1] for k in self.cache.objects["nodes"])
        self.alloc = {k[1]: node_allocatable(n) for k, n in self.cache.objects["nodes"].items()}

    def on_event(self, kind: str, etype: str, obj: Obj, old: Obj | None) -> None:
        if kind == "nodes":
            self._refresh_node(obj, etype)
            if etype != "DELETED":
                self._capacity_changed()
            return
        if kind != "pods":
            return
        if etype == "DELETED":
            self._account(obj, -1)
            freed = self._contribution(obj) is not None
        else:
            self._account(old, -1)
            self._account(obj, +1)
            freed = self._contribution(old) is not None and self._contribution(obj) is None
        if freed:
            self._capacity_changed()
        key = key_of(obj)
        if etype == "DELETED" or not self._wants_scheduling(obj):
            self.waiting.discard(key)
            return
        if etype == "ADDED":
            self.later(key, self.settings.timings.schedule_seconds)
        elif key not in self.waiting or (old is not None and old.get("spec") != obj.get("spec")):
            self.queue.add(key)

    def _refresh_node(self, node: Obj, etype: str) -> None:
        name = meta(node).get("name") or ""
        if etype == "DELETED":
            self.alloc.pop(name, None)
            if name in self.node_names:
                self.node_names.remove(name)
            return
        if name not in self.alloc:
            self.node_names.append(name)
            self.node_names.sort()
        self.alloc[name] = node_allocatable(node)

    # --- scheduling ---------------------------------------------------------------------------

    def reconcile(self, key: Any) -> None:
        if key == RETRY:
            for k in sorted(self.waiting):
                self.queue.add(k)
            return
        pod = self.cache.get("pods", key)
        if pod is None or not self._wants_scheduling(pod):
            self.waiting.discard(key)
            return
        node, reasons = self.pick_node(pod)
        if node is None:
            self._unschedulable(pod, key, fit_error(len(self.node_names), reasons))
            return
        self.waiting.discard(key)

        def bind(o: Obj) -> None:
            o["spec"]["nodeName"] = node

        self.store.mutate(PODS, key[0], key[1], bind, manager=self.name)

        def scheduled(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["phase"] = st.get("phase") or "Pending"
            set_condition(st, "PodScheduled", "True", probe_time=True)

        self.store.mutate(PODS, key[0], key[1], scheduled, subresource="status", manager=self.name)
        self.record(pod, "Scheduled", f"Successfully assigned {key[0]}/{key[1]} to {node}")

    def _unschedulable(self, pod: Obj, key: Key, message: str) -> None:
        self.waiting.add(key)
        prev = next(
            (c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "PodScheduled"),
            None,
        )

        def put(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["phase"] = "Pending"
            set_condition(st, "PodScheduled", "False", "Unschedulable", message, probe_time=True)

        self.store.mutate(PODS, key[0], key[1], put, subresource="status", manager=self.name)
        if prev is None or prev.get("message") != message or prev.get("status") != "False":
            self.record(pod, "FailedScheduling", message, "Warning")

    def pick_node(self, pod: Obj) -> tuple[str | None, dict[str, int]]:
        spec = pod.get("spec") or {}
        tolerations = list(spec.get("tolerations") or [])
        req = pod_requests(pod)
        reasons: dict[str, int] = {}
        best: tuple[float, str] | None = None
        nodes = self.cache.objects["nodes"]
        for name in self.node_names:
            node = nodes.get(("", name))
            if node is None:
                continue
            why = self._filter(pod, node, name, tolerations, req)
            if why:
                for r in why:
                    reasons[r] = reasons.get(r, 0) + 1
                continue
            score = self._score(name, req)
            if best is None or score > best[0]:
                best = (score, name)
        return (best[1] if best else None), reasons

    def _filter(
        self, pod: Obj, node: Obj, name: str, tolerations: list[Mapping[str, Any]], req: dict[str, Decimal]
    ) -> list[str]:
        nspec = node.get("spec") or {}
        if nspec.get("unschedulable") and not tolerates(
            tolerations, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
        ):
            return ["node(s) were unschedulable"]
        taints = list(nspec.get("taints") or [])
        if not node_ready(node) and not any(t.get("key") == "node.kubernetes.io/not-ready" for t in taints):
            taints.append({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"})
        for taint in taints:
            if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
                return [f"node(s) had untolerated taint {_taint_text(taint)}"]
        if not matches_node(pod, node):
            return ["node(s) didn't match Pod's node affinity/selector"]
        alloc = self.alloc.get(name, {})
        used = self.used.get(name, {})
        out = []
        if used.get("pods", Decimal(0)) + 1 > alloc.get("pods", Decimal(110)):
            out.append("Too many pods")
        for k, v in sorted(req.items()):
            if v <= 0:
                continue
            if used.get(k, Decimal(0)) + v > alloc.get(k, Decimal(0)):
                out.append(f"Insufficient {k}")
        return out

    def _score(self, name: str, req: dict[str, Decimal]) -> float:
        """NodeResourcesFit LeastAllocated: mean free fraction after placing the pod (GPU if requested)."""
        alloc = self.alloc.get(name, {})
        used = self.used.get(name, {})
        fractions = []
        for k in _SCORED:
            cap = alloc.get(k, Decimal(0))
            if cap <= 0 or (k == GPU and req.get(GPU, Decimal(0)) <= 0):
                continue
            fractions.append(float((cap - used.get(k, Decimal(0)) - req.get(k, Decimal(0))) / cap))
        return sum(fractions) / len(fractions) if fractions else 0.0
