"""Deletion for the store: propagation policies, ownerReference garbage collection, finalizers,
graceful pod termination and namespace teardown, following the real API server and garbage collector."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium_kubesim import errors
from podium_kubesim.objutil import deep_copy, now_rfc3339
from podium_kubesim.resources import RESOURCES, Resource, by_kind


class DeletionMixin:
    """Mixed into Store; relies on its object maps, owner index and write helpers declared below."""

    _objects: dict[str, dict[str, dict[str, dict[str, Any]]]]
    _dependents: dict[str, set[tuple[str, str, str]]]
    _json_cache: dict[int, tuple[dict[str, Any], bytes]]

    if TYPE_CHECKING:

        def peek(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None: ...
        def _store_update(
            self, res: Resource, current: dict[str, Any], new: dict[str, Any]
        ) -> dict[str, Any]: ...
        def _removable(self, res: Resource, obj: dict[str, Any]) -> bool: ...
        def _index_owners(self, res: Resource, obj: dict[str, Any], add: bool) -> None: ...
        def _next_rv(self) -> int: ...
        def _emit(
            self, type_: str, res: Resource, obj: dict[str, Any], old: dict[str, Any] | None, rv: int
        ) -> None: ...

    def delete(  # noqa: PLR0912 - propagation, grace and finalizer rules of the real delete path
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        *,
        propagation: str = "Background",
        grace_period_seconds: int | None = None,
        manager: str = "kubesim",
        dry_run: bool = False,
        precondition_uid: str | None = None,
        precondition_rv: str | None = None,
    ) -> dict[str, Any]:
        """Start deleting an object; returns its state afterwards (check `exists()` to see if it is gone)."""
        current = self.peek(res, namespace, name)
        if current is None:
            raise errors.not_found(res, name)
        cm = current["metadata"]
        if precondition_uid and precondition_uid != cm["uid"]:
            raise errors.conflict(
                res,
                name,
                f"Precondition failed: UID in precondition: {precondition_uid}, "
                f"UID in object meta: {cm['uid']}",
            )
        if precondition_rv and precondition_rv != cm["resourceVersion"]:
            raise errors.conflict(
                res,
                name,
                "Precondition failed: ResourceVersion in precondition: "
                f"{precondition_rv}, ResourceVersion in object meta: {cm['resourceVersion']}",
            )
        if propagation not in ("Background", "Foreground", "Orphan"):
            raise errors.bad_request(f"unsupported propagation policy: {propagation!r}")
        if dry_run:
            return deep_copy(current)
        new = deep_copy(current)
        m = new["metadata"]
        finalizers = list(m.get("finalizers") or [])
        if propagation == "Orphan":
            self._orphan_dependents(cm["uid"])
        elif (
            propagation == "Foreground"
            and self._dependents.get(cm["uid"])
            and "foregroundDeletion" not in finalizers
        ):
            finalizers.append("foregroundDeletion")
        m["finalizers"] = finalizers
        if not finalizers:
            m.pop("finalizers")
        graceful_pod = res.storage_key == "pods" and bool(new.get("spec", {}).get("nodeName"))
        if graceful_pod:
            grace = grace_period_seconds
            if grace is None:
                grace = int(new.get("spec", {}).get("terminationGracePeriodSeconds", 30))
            if cm.get("deletionTimestamp") and grace >= int(cm.get("deletionGracePeriodSeconds", 0)):
                return deep_copy(current)  # already terminating, not shorter
            m["deletionGracePeriodSeconds"] = grace
        elif cm.get("deletionTimestamp") and finalizers == list(cm.get("finalizers") or []):
            return deep_copy(current)
        else:
            m["deletionGracePeriodSeconds"] = 0
        if not cm.get("deletionTimestamp"):
            m["deletionTimestamp"] = now_rfc3339()
        if res.storage_key == "namespaces":
            new.setdefault("status", {})["phase"] = "Terminating"
        if not finalizers and self._removable(res, new) and res.storage_key != "namespaces":
            self._remove(res, current)
            return deep_copy(new)
        result = self._store_update(res, current, new)
        if res.storage_key == "namespaces":
            self._delete_namespace_contents(m["name"])
        elif propagation == "Foreground":
            for dep in list(self._dependents.get(cm["uid"], ())):
                self._delete_dependent(dep, "Foreground")
        return deep_copy(result)

    def remove(self, res: Resource, namespace: str | None, name: str) -> None:
        """Final removal (the kubelet after graceful termination); finalizers still hold the object."""
        current = self.peek(res, namespace, name)
        if current is None:
            return
        if current["metadata"].get("finalizers"):
            if current["metadata"].get("deletionGracePeriodSeconds", 0) != 0:
                new = deep_copy(current)
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                new["metadata"].setdefault("deletionTimestamp", now_rfc3339())
                self._store_update(res, current, new)
            return
        self._remove(res, current)

    def exists(self, res: Resource, namespace: str | None, name: str) -> bool:
        return self.peek(res, namespace, name) is not None

    def _remove(self, res: Resource, current: dict[str, Any]) -> None:
        m = current["metadata"]
        ns = m.get("namespace", "")
        bucket = self._objects[res.storage_key].get(ns)
        if bucket is None or bucket.get(m["name"]) is not current:
            return
        del bucket[m["name"]]
        self._json_cache.pop(id(current), None)
        if not bucket:
            del self._objects[res.storage_key][ns]
        self._index_owners(res, current, add=False)
        rv = self._next_rv()
        final = dict(current)
        final["metadata"] = dict(m, resourceVersion=str(rv))
        self._emit("DELETED", res, final, current, rv)
        # Garbage collection: dependents of a removed owner go in the background, like the real GC.
        for dep in list(self._dependents.pop(m["uid"], ())):
            self._delete_dependent(dep, "Background")
        self._release_foreground_owners(current)
        if ns and res.storage_key != "namespaces":
            ns_obj = self.peek(RESOURCES["namespaces"], None, ns)
            if (
                ns_obj is not None
                and ns_obj["metadata"].get("deletionTimestamp")
                and self._namespace_empty(ns)
            ):
                self._remove(RESOURCES["namespaces"], ns_obj)

    def _delete_dependent(self, dep: tuple[str, str, str], propagation: str) -> None:
        key, ns, name = dep
        res = RESOURCES[key]
        obj = self.peek(res, ns, name)
        if obj is None:
            return
        if obj["metadata"].get("deletionTimestamp") and propagation != "Foreground":
            return
        self.delete(res, ns, name, propagation=propagation, manager="garbage-collector")

    def _orphan_dependents(self, uid: str) -> None:
        for key, ns, name in list(self._dependents.get(uid, ())):
            res = RESOURCES[key]
            current = self.peek(res, ns, name)
            if current is None:
                continue
            new = deep_copy(current)
            refs = [r for r in new["metadata"].get("ownerReferences", []) if r.get("uid") != uid]
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                new["metadata"].pop("ownerReferences", None)
            self._store_update(res, current, new)

    def _release_foreground_owners(self, removed: dict[str, Any]) -> None:
        for owner in removed["metadata"].get("ownerReferences") or []:
            uid = owner.get("uid")
            if not uid or self._dependents.get(uid):
                continue
            owner_obj, owner_res = self._find_by_uid(owner, removed["metadata"].get("namespace", ""))
            if owner_obj is None or owner_res is None:
                continue
            fins = owner_obj["metadata"].get("finalizers") or []
            if "foregroundDeletion" in fins:
                new = deep_copy(owner_obj)
                rest = [f for f in fins if f != "foregroundDeletion"]
                if rest:
                    new["metadata"]["finalizers"] = rest
                else:
                    new["metadata"].pop("finalizers")
                self._store_update(owner_res, owner_obj, new)

    def _find_by_uid(
        self, ref: dict[str, Any], namespace: str
    ) -> tuple[dict[str, Any] | None, Resource | None]:
        res = by_kind(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        if res is None:
            return None, None
        obj = self.peek(res, namespace if res.namespaced else None, str(ref.get("name", "")))
        if obj is None or obj["metadata"]["uid"] != ref.get("uid"):
            return None, None
        return obj, res

    def _namespace_empty(self, ns: str) -> bool:
        return not any(ns in buckets for key, buckets in self._objects.items() if RESOURCES[key].namespaced)

    def _delete_namespace_contents(self, ns: str) -> None:
        for key, buckets in self._objects.items():
            res = RESOURCES[key]
            if not res.namespaced or ns not in buckets:
                continue
            for name in sorted(buckets.get(ns, {})):
                obj = self.peek(res, ns, name)
                if obj is not None and not obj["metadata"].get("deletionTimestamp"):
                    self.delete(res, ns, name, manager="namespace-controller")
        ns_obj = self.peek(RESOURCES["namespaces"], None, ns)
        if ns_obj is not None and self._namespace_empty(ns) and not ns_obj["metadata"].get("finalizers"):
            self._remove(RESOURCES["namespaces"], ns_obj)
