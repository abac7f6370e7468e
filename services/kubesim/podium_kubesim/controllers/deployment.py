"""Deployment controller: ReplicaSets per pod template, rolling update / Recreate, status and revisions.

Follows kubernetes/pkg/controller/deployment (rolling.go, recreate.go, sync.go, progress.go) closely enough
that `kubectl rollout status` and `kubectl rollout history` behave as against a real cluster. Not simulated:
progressDeadlineSeconds expiry, proportional scaling of several old ReplicaSets mid-rollout, rollbackTo.
"""

from __future__ import annotations

import math
from typing import Any

from podium_kubesim.controllers.base import Controller, Key
from podium_kubesim.controllers.podutil import (
    POD_TEMPLATE_HASH,
    REVISION,
    Obj,
    is_terminal,
    json_clone,
    meta,
    now_ts,
    owner_ref,
    parse_ts,
    template_hash,
)
from podium_kubesim.objutil import deep_copy
from podium_kubesim.resources import resource

DEPLOYMENTS = resource("deployments.apps")
REPLICASETS = resource("replicasets.apps")

DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
# Annotations the controller never copies from a Deployment onto its ReplicaSets.
_SKIP_ANNOTATIONS = {
    REVISION,
    DESIRED,
    MAX_REPLICAS,
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision-history",
}


def resolve_int_or_percent(value: Any, total: int, round_up: bool) -> int:
    if value is None:
        value = "25%"
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        frac = int(text[:-1]) * total / 100
        return math.ceil(frac) if round_up else math.floor(frac)
    return int(text)


def surge_and_unavailable(deploy: Obj) -> tuple[int, int]:
    """deploymentutil.ResolveFenceposts: surge rounds up, unavailable down; both zero -> unavailable = 1."""
    spec = deploy.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, replicas
    ru = strategy.get("rollingUpdate") or {}
    surge = resolve_int_or_percent(ru.get("maxSurge"), replicas, True)
    unavailable = resolve_int_or_percent(ru.get("maxUnavailable"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def templates_equal(rs_template: Obj, deploy_template: Obj) -> bool:
    """EqualIgnoreHash: compare templates without the pod-template-hash label."""
    a = deep_copy(rs_template)  # stored objects hold no nulls: the API drops them on every write
    b = deep_copy(deploy_template)
    for t in (a, b):
        labels = (t.get("metadata") or {}).get("labels")
        if labels:
            labels.pop(POD_TEMPLATE_HASH, None)
            if not labels:
                t["metadata"].pop("labels")
        if t.get("metadata") == {}:
            t.pop("metadata")
    return bool(a == b)


def revision_of(rs: Obj) -> int:
    try:
        return int((meta(rs).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _replicas(rs: Obj) -> int:
    return int((rs.get("spec") or {}).get("replicas", 0))


def _status(rs: Obj, field: str) -> int:
    return int((rs.get("status") or {}).get(field) or 0)


def _created_order(rs: Obj) -> tuple[Any, ...]:
    return (
        parse_ts(meta(rs).get("creationTimestamp")) is None,
        meta(rs).get("creationTimestamp") or "",
        meta(rs).get("name") or "",
    )


class DeploymentController(Controller):
    name = "deployment-controller"
    component = "deployment-controller"

    def on_event(self, kind: str, etype: str, obj: Obj, old: Obj | None) -> None:
        if kind == "deployments.apps":
            self.queue.add((meta(obj).get("namespace"), meta(obj).get("name")))
        elif kind == "replicasets.apps":
            self._enqueue_owner(obj)
        elif kind == "pods" and (etype == "DELETED" or is_terminal(obj)):
            # Recreate waits for the old pods to be gone: follow pod -> ReplicaSet -> Deployment.
            for ref in meta(obj).get("ownerReferences") or []:
                if ref.get("controller") and ref.get("kind") == "ReplicaSet":
                    rs = self.cache.get(
                        "replicasets.apps", (meta(obj).get("namespace") or "", ref.get("name"))
                    )
                    if rs is not None:
                        self._enqueue_owner(rs)

    def _enqueue_owner(self, rs: Obj) -> None:
        for ref in meta(rs).get("ownerReferences") or []:
            if ref.get("controller") and ref.get("kind") == "Deployment":
                self.queue.add((meta(rs).get("namespace"), ref.get("name")))

    def prime(self) -> None:
        for key in list(self.cache.objects["deployments.apps"]):
            self.queue.add(key)

    # --- reconcile ----------------------------------------------------------------------------

    def reconcile(self, key: Any) -> None:
        d = self.cache.get("deployments.apps", key)
        if d is None or meta(d).get("deletionTimestamp"):
            return
        spec = d.get("spec") or {}
        all_rs = sorted(self.cache.owned_by("replicasets.apps", meta(d)["uid"]), key=_created_order)
        template = spec.get("template") or {}
        new_rs = next(
            (rs for rs in all_rs if templates_equal((rs.get("spec") or {}).get("template") or {}, template)),
            None,
        )
        old_rs = [rs for rs in all_rs if rs is not new_rs]
        created = False
        if spec.get("paused"):
            # A paused Deployment starts no rollout but still follows spec.replicas (sync.go).
            if new_rs is not None and not any(_replicas(r) for r in old_rs):
                self._scale(d, key, new_rs, int(spec.get("replicas", 1)))
                new_rs = self.cache.get("replicasets.apps", (key[0], meta(new_rs)["name"])) or new_rs
            self._update_status(d, key, new_rs, old_rs, created)
            return
        if new_rs is None:
            new_rs = self._create_new_rs(d, key, old_rs)
            created = True
        else:
            new_rs = self._sync_revision(d, key, new_rs, old_rs)
        if (spec.get("strategy") or {}).get("type") == "Recreate":
            self._recreate(d, key, new_rs, old_rs)
        else:
            self._rolling(d, key, new_rs, old_rs)
        self._cleanup(d, key)
        new_rs = self.cache.get("replicasets.apps", (key[0], meta(new_rs)["name"])) or new_rs
        old_rs = [self.cache.get("replicasets.apps", (key[0], meta(r)["name"])) or r for r in old_rs]
        self._update_status(d, key, new_rs, old_rs, created)

    def _create_new_rs(self, d: Obj, key: Key, old_rs: list[Obj]) -> Obj:
        spec = d.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        collisions = int((d.get("status") or {}).get("collisionCount") or 0)
        template = deep_copy(spec.get("template") or {})
        while True:
            h = template_hash(template, collisions)
            name = f"{key[1]}-{h}"
            if self.cache.get("replicasets.apps", (key[0], name)) is None:
                break
            collisions += 1  # a foreign ReplicaSet holds the name: the real controller bumps collisionCount
        if collisions != int((d.get("status") or {}).get("collisionCount") or 0):
            count = collisions

            def put_collisions(o: Obj) -> None:
                o.setdefault("status", {})["collisionCount"] = count

            self.store.mutate(
                DEPLOYMENTS, key[0], key[1], put_collisions, subresource="status", manager=self.name
            )
        template.setdefault("metadata", {}).setdefault("labels", {})[POD_TEMPLATE_HASH] = h
        selector = json_clone(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[POD_TEMPLATE_HASH] = h
        revision = max((revision_of(r) for r in old_rs), default=0) + 1
        if (spec.get("strategy") or {}).get("type") == "Recreate":
            start = 0 if any(_replicas(r) for r in old_rs) else replicas
        else:
            surge, _ = surge_and_unavailable(d)
            current = sum(_replicas(r) for r in old_rs)
            start = replicas if current == 0 else max(0, min(replicas + surge - current, replicas))
        annotations = {
            k: v for k, v in (meta(d).get("annotations") or {}).items() if k not in _SKIP_ANNOTATIONS
        }
        annotations.update(
            {
                REVISION: str(revision),
                DESIRED: str(replicas),
                MAX_REPLICAS: str(replicas + surge_and_unavailable(d)[0]),
            }
        )
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": key[0],
                "labels": dict((template.get("metadata") or {}).get("labels") or {}),
                "annotations": annotations,
                "ownerReferences": [owner_ref(d, "apps/v1", "Deployment")],
            },
            "spec": {
                "replicas": start,
                "minReadySeconds": int(spec.get("minReadySeconds") or 0),
                "selector": selector,
                "template": template,
            },
        }
        created = self.store.create(REPLICASETS, key[0], rs, manager=self.name)
        self._set_deploy_revision(key, revision)
        if start:
            self.record(d, "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {start}")
        return created

    def _sync_revision(self, d: Obj, key: Key, new_rs: Obj, old_rs: list[Obj]) -> Obj:
        max_old = max((revision_of(r) for r in old_rs), default=0)
        rev = revision_of(new_rs)
        if rev <= max_old:  # a rollback to an older template: it becomes the newest revision again
            rev = max_old + 1

            def put(o: Obj) -> None:
                o["metadata"].setdefault("annotations", {})[REVISION] = str(rev)

            new_rs = self.store.mutate(REPLICASETS, key[0], meta(new_rs)["name"], put, manager=self.name)
        self._set_deploy_revision(key, rev)
        return new_rs

    def _set_deploy_revision(self, key: Key, revision: int) -> None:
        def put(o: Obj) -> None:
            o["metadata"].setdefault("annotations", {})[REVISION] = str(revision)

        self.store.mutate(DEPLOYMENTS, key[0], key[1], put, manager=self.name)

    def _scale(self, d: Obj, key: Key, rs: Obj, to: int) -> None:
        frm = _replicas(rs)
        if frm == to:
            return
        replicas = int((d.get("spec") or {}).get("replicas", 1))
        surge, _ = surge_and_unavailable(d)

        def put(o: Obj) -> None:
            o["spec"]["replicas"] = to
            ann = o["metadata"].setdefault("annotations", {})
            ann[DESIRED] = str(replicas)
            ann[MAX_REPLICAS] = str(replicas + surge)

        self.store.mutate(REPLICASETS, key[0], meta(rs)["name"], put, manager=self.name)
        direction = "up" if to > frm else "down"
        self.record(
            d, "ScalingReplicaSet", f"Scaled {direction} replica set {meta(rs)['name']} from {frm} to {to}"
        )

    def _recreate(self, d: Obj, key: Key, new_rs: Obj, old_rs: list[Obj]) -> None:
        for rs in old_rs:
            self._scale(d, key, rs, 0)
        for rs in old_rs:
            for pod in self.cache.owned_by("pods", meta(rs)["uid"]):
                if not is_terminal(pod):
                    return  # old pods still running or terminating: the new ones wait (recreate.go)
        self._scale(d, key, new_rs, int((d.get("spec") or {}).get("replicas", 1)))

    def _rolling(self, d: Obj, key: Key, new_rs: Obj, old_rs: list[Obj]) -> None:
        replicas = int((d.get("spec") or {}).get("replicas", 1))
        surge, max_unavailable = surge_and_unavailable(d)
        # reconcileNewReplicaSet
        cur_new = _replicas(new_rs)
        if cur_new > replicas:
            self._scale(d, key, new_rs, replicas)
        elif cur_new < replicas:
            total = cur_new + sum(_replicas(r) for r in old_rs)
            up = min(replicas + surge - total, replicas - cur_new)
            if up > 0:
                self._scale(d, key, new_rs, cur_new + up)
        new_rs = self.cache.get("replicasets.apps", (key[0], meta(new_rs)["name"])) or new_rs
        # reconcileOldReplicaSets
        old_rs = [self.cache.get("replicasets.apps", (key[0], meta(r)["name"])) or r for r in old_rs]
        all_count = _replicas(new_rs) + sum(_replicas(r) for r in old_rs)
        min_available = replicas - max_unavailable
        new_unavailable = _replicas(new_rs) - _status(new_rs, "availableReplicas")
        max_scaled_down = all_count - min_available - new_unavailable
        if max_scaled_down <= 0:
            return
        # cleanupUnhealthyReplicas: old pods that are not available go first, they cost no availability.
        cleaned = 0
        for rs in old_rs:
            if cleaned >= max_scaled_down:
                break
            unhealthy = _replicas(rs) - _status(rs, "availableReplicas")
            if unhealthy <= 0:
                continue
            n = min(max_scaled_down - cleaned, unhealthy)
            self._scale(d, key, rs, _replicas(rs) - n)
            cleaned += n
        old_rs = [self.cache.get("replicasets.apps", (key[0], meta(r)["name"])) or r for r in old_rs]
        # scaleDownOldReplicaSetsForRollingUpdate
        available = _status(new_rs, "availableReplicas") + sum(
            _status(r, "availableReplicas") for r in old_rs
        )
        if available <= min_available:
            return
        budget = available - min_available
        for rs in old_rs:
            if budget <= 0:
                break
            n = min(_replicas(rs), budget)
            if n:
                self._scale(d, key, rs, _replicas(rs) - n)
                budget -= n

    def _cleanup(self, d: Obj, key: Key) -> None:
        limit = int((d.get("spec") or {}).get("revisionHistoryLimit", 10))
        all_rs = sorted(self.cache.owned_by("replicasets.apps", meta(d)["uid"]), key=revision_of)
        template = (d.get("spec") or {}).get("template") or {}
        idle = [
            r
            for r in all_rs
            if _replicas(r) == 0
            and _status(r, "replicas") == 0
            and not templates_equal((r.get("spec") or {}).get("template") or {}, template)
        ]
        for rs in idle[: max(0, len(idle) - limit)]:
            self.store.delete(REPLICASETS, key[0], meta(rs)["name"], manager=self.name)

    def _update_status(self, d: Obj, key: Key, new_rs: Obj | None, old_rs: list[Obj], created: bool) -> None:
        spec = d.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        _, max_unavailable = surge_and_unavailable(d)
        all_rs = ([new_rs] if new_rs else []) + old_rs
        total_spec = sum(_replicas(r) for r in all_rs)
        actual = sum(_status(r, "replicas") for r in all_rs)
        updated = _status(new_rs, "replicas") if new_rs else 0
        ready = sum(_status(r, "readyReplicas") for r in all_rs)
        available = sum(_status(r, "availableReplicas") for r in all_rs)
        unavailable = max(0, total_spec - available)
        generation = meta(d).get("generation", 1)
        new_name = meta(new_rs)["name"] if new_rs else ""
        complete = new_rs is not None and updated == replicas and actual == replicas and available == replicas

        def put(o: Obj) -> None:
            st = o.setdefault("status", {})
            before = {
                k: st.get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
            }
            st["observedGeneration"] = generation
            for field, value in (
                ("replicas", actual),
                ("updatedReplicas", updated),
                ("readyReplicas", ready),
                ("availableReplicas", available),
                ("unavailableReplicas", unavailable),
            ):
                if value:
                    st[field] = value
                else:
                    st.pop(field, None)
            after = {k: st.get(k) for k in before}
            conds: list[Obj] = st.setdefault("conditions", [])
            if available >= replicas - max_unavailable:
                _condition(
                    conds,
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                )
            else:
                _condition(
                    conds,
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                )
            if spec.get("paused"):
                _condition(conds, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
            elif complete:
                _condition(
                    conds,
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{new_name}" has successfully progressed.',
                )
            elif created:
                _condition(
                    conds,
                    "Progressing",
                    "True",
                    "NewReplicaSetCreated",
                    f'Created new replica set "{new_name}"',
                )
            elif new_rs is not None and (
                before != after or _reason(conds, "Progressing") in (None, "NewReplicaSetAvailable")
            ):
                _condition(
                    conds,
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    f'ReplicaSet "{new_name}" is progressing.',
                )
            # Conditions are listed Available first then Progressing, as the controller writes them.
            conds.sort(key=lambda c: 0 if c.get("type") == "Available" else 1)

        self.store.mutate(DEPLOYMENTS, key[0], key[1], put, subresource="status", manager=self.name)


def _reason(conds: list[Obj], ctype: str) -> str | None:
    for c in conds:
        if c.get("type") == ctype:
            return str(c.get("reason"))
    return None


def _condition(conds: list[Obj], ctype: str, status: str, reason: str, message: str) -> None:
    now = now_ts()
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != status:
                c["lastTransitionTime"] = now
            if c.get("reason") != reason or c.get("message") != message or c.get("status") != status:
                c["lastUpdateTime"] = now
            c.update(status=status, reason=reason, message=message)
            return
    conds.append(
        {
            "type": ctype,
            "status": status,
            "reason": reason,
            "message": message,
            "lastUpdateTime": now,
            "lastTransitionTime": now,
        }
    )
