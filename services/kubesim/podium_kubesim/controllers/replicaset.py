"""ReplicaSet controller: keep `spec.replicas` active pods; scale down in the real victim order."""

from __future__ import annotations

from typing import Any

from podium_kubesim.controllers.base import Controller, Key
from podium_kubesim.controllers.podutil import (
    Obj,
    controller_uid,
    is_active,
    is_available,
    is_ready,
    labels_of,
    meta,
    pod_from_template,
    rank_victims,
)
from podium_kubesim.errors import ApiError
from podium_kubesim.resources import resource

PODS = resource("pods")
REPLICASETS = resource("replicasets.apps")


class ReplicaSetController(Controller):
    name = "replicaset-controller"
    component = "replicaset-controller"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # id(stored pod version) -> (that version, active, ready). Stored versions never change, so the
        # flags stay true for as long as the version lives; a set of thousands of pods is re-counted after
        # every batch of pod changes, and this makes each unchanged pod a dict lookup.
        self._flags: dict[int, tuple[Obj, bool, bool]] = {}

    def _pod_flags(self, pod: Obj) -> tuple[bool, bool]:
        hit = self._flags.get(id(pod))
        if hit is not None and hit[0] is pod:
            return hit[1], hit[2]
        if len(self._flags) > 4 * max(1024, len(self.cache.objects["pods"])):
            self._flags.clear()  # drop entries (and references) of versions long replaced
        active, ready = is_active(pod), is_ready(pod)
        self._flags[id(pod)] = (pod, active, ready)
        return active, ready

    def on_event(self, kind: str, etype: str, obj: Obj, old: Obj | None) -> None:
        if kind == "replicasets.apps":
            self.queue.add((meta(obj).get("namespace"), meta(obj).get("name")))
        elif kind == "pods":
            for o in (obj, old):
                if o is not None:
                    self._enqueue_owner(o)

    def _enqueue_owner(self, pod: Obj) -> None:
        for ref in meta(pod).get("ownerReferences") or []:
            if ref.get("controller") and ref.get("kind") == "ReplicaSet":
                self.queue.add((meta(pod).get("namespace"), ref.get("name")))

    def prime(self) -> None:
        for key in list(self.cache.objects["replicasets.apps"]):
            self.queue.add(key)

    def reconcile(self, key: Any) -> None:
        rs = self.cache.get("replicasets.apps", key)
        if rs is None or meta(rs).get("deletionTimestamp"):
            return
        uid = meta(rs)["uid"]
        active = [p for p in self.cache.owned_by("pods", uid) if self._pod_flags(p)[0]]
        want = int((rs.get("spec") or {}).get("replicas", 1))
        diff = len(active) - want
        if diff < 0:
            for _ in range(-diff):
                self._create_pod(rs, key)
        elif diff > 0:
            related = self._related_pods(rs)
            for victim in rank_victims(active, related)[:diff]:
                name = meta(victim)["name"]
                self.store.delete(PODS, key[0], name, manager=self.name)
                self.record(rs, "SuccessfulDelete", f"Deleted pod: {name}")
        self._update_status(rs, key, active if diff == 0 else None)

    def _related_pods(self, rs: Obj) -> list[Obj]:
        """Active pods of every ReplicaSet of the same Deployment (getPodsRankedByRelatedPodsOnSameNode)."""
        owner = controller_uid(rs)
        sets = self.cache.owned_by("replicasets.apps", owner) if owner else [rs]
        out: list[Obj] = []
        for s in sets:
            out.extend(p for p in self.cache.owned_by("pods", meta(s)["uid"]) if is_active(p))
        return out

    def _create_pod(self, rs: Obj, key: Key) -> None:
        pod = pod_from_template(
            rs, "apps/v1", "ReplicaSet", namespace=key[0], base=f"{key[1]}-",
            taken=lambda n: self.cache.get("pods", (key[0], n)) is not None,
        )  # fmt: skip
        name = pod["metadata"]["name"]
        try:
            # `pod` is built from a clone of the template for this write alone: hand it over uncopied.
            self.store.create(PODS, key[0], pod, manager=self.name, owned=True)
        except ApiError as exc:
            self.record(rs, "FailedCreate", f"Error creating: {exc.message}", "Warning")
            raise
        self.record(rs, "SuccessfulCreate", f"Created pod: {name}")

    def _update_status(self, rs: Obj, key: Key, active: list[Obj] | None = None) -> None:
        """`active`: the set's active pods when the caller has them and wrote none since."""
        spec = rs.get("spec") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if active is None:
            active = [p for p in self.cache.owned_by("pods", meta(rs)["uid"]) if self._pod_flags(p)[0]]
        # One pass: this runs after every batch of pod changes and a set may have thousands of pods.
        ready = available = fully = 0
        for p in active:
            if self._pod_flags(p)[1]:
                ready += 1
                if not min_ready or is_available(p, min_ready):
                    available += 1
            pod_labels = labels_of(p)
            if all(pod_labels.get(k) == v for k, v in template_labels.items()):
                fully += 1
        generation = meta(rs).get("generation", 1)

        def put(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["replicas"] = len(active)
            st["fullyLabeledReplicas"] = fully
            st["observedGeneration"] = generation
            for field, value in (("readyReplicas", ready), ("availableReplicas", available)):
                # The real API omits zero-valued optional counters.
                if value:
                    st[field] = value
                else:
                    st.pop(field, None)

        self.store.mutate(REPLICASETS, key[0], key[1], put, subresource="status", manager=self.name)
        if min_ready and ready > available:
            # Pods become available only after minReadySeconds; look again then.
            self.later(key, float(min_ready))
