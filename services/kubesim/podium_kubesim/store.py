"""The object store: every object of every kind, one resourceVersion counter, watch history, GC.

Everything runs on one asyncio loop, so there are no locks; every method is synchronous. Stored objects are
copy-on-write: a write stores a new dict and never mutates the old one, so watch history can keep
references to past states and the server can serialize stored objects without copying them.

Copies: `create`/`update` copy their input (dropping null fields, as typed decoding does) and their result
by default, so a caller can neither change a stored object through a dict it still holds nor through the
one it gets back. A caller that built the input for this one write (a request body already cleaned by the
handler, a controller's new pod) passes `owned=True`: the store takes the dict as it is (defaulting fills
it in place) and returns the stored object itself, which the caller must only read. `mutate` works that
way internally, so a controller write costs one copy.
"""

from __future__ import annotations

import builtins
import contextlib
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from podium_kubesim import errors
from podium_kubesim.defaults import apply_defaults
from podium_kubesim.deletion import DeletionMixin
from podium_kubesim.errors import ApiError
from podium_kubesim.fieldmanager import record_update
from podium_kubesim.objutil import deep_copy, drop_nulls, now_rfc3339, random_suffix, spec_part, to_json
from podium_kubesim.resources import RESOURCES, Resource
from podium_kubesim.selectors import make_predicate
from podium_kubesim.validation import validate, validate_immutable

Key = tuple[str, str]  # (namespace or "", name)


class WatchEvent:
    """One change. `object` is a private copy for listeners that want to mutate; `raw` is the stored state."""

    __slots__ = ("_copy", "_json", "old", "raw", "resource", "rv", "type")

    def __init__(
        self, type: str, resource: Resource, raw: dict[str, Any], old: dict[str, Any] | None, rv: int
    ):
        self.type = type  # ADDED | MODIFIED | DELETED
        self.resource = resource
        self.raw = raw  # never mutate: it is the stored (or last stored) object
        self.old = old  # the previous stored state (None for ADDED); never mutate
        self.rv = rv
        self._copy: dict[str, Any] | None = None
        self._json: bytes | None = None

    @property
    def object(self) -> dict[str, Any]:
        if self._copy is None:
            self._copy = deep_copy(self.raw)
        return self._copy

    def object_json(self) -> bytes:
        """The object serialized once, shared by every watcher."""
        if self._json is None:
            self._json = to_json(self.raw)
        return self._json

    def __repr__(self) -> str:
        m = self.raw.get("metadata", {})
        return (
            f"WatchEvent({self.type} {self.resource.key} {m.get('namespace')}/{m.get('name')} rv={self.rv})"
        )


Listener = Callable[[WatchEvent], None]


class Store(DeletionMixin):
    """All objects; reads, writes and history here, deletion and garbage collection in DeletionMixin."""

    def __init__(self, history_size: int = 10_000) -> None:
        self._objects: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
            r.key: {} for r in RESOURCES.values() if r.alias_of is None
        }
        self._dependents: dict[str, set[tuple[str, str, str]]] = {}  # owner uid -> {(storage key, ns, name)}
        self._listeners: list[Listener] = []
        self.history: deque[WatchEvent] = deque(maxlen=history_size)
        self.resource_version = 1
        # Every event with rv <= compacted_rv has been dropped from history: older watches get 410.
        self.compacted_rv = 1
        # id(stored object) -> (object, its JSON); entries die with the version they describe.
        self._json_cache: dict[int, tuple[dict[str, Any], bytes]] = {}

    # --- reads ---------------------------------------------------------------------------------

    def _bucket(self, res: Resource, namespace: str | None) -> dict[str, dict[str, Any]] | None:
        return self._objects[res.storage_key].get(namespace or "" if res.namespaced else "")

    def peek(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored object itself (no copy): read-only, for callers that serialize it at once."""
        bucket = self._bucket(res, namespace)
        return bucket.get(name) if bucket else None

    def get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        obj = self.peek(res, namespace, name)
        if obj is None:
            raise errors.not_found(res, name)
        return deep_copy(obj)

    def try_get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        obj = self.peek(res, namespace, name)
        return deep_copy(obj) if obj is not None else None

    def iter_raw(self, res: Resource, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        """Stored objects (no copies) sorted by namespace then name, the order the real server lists in."""
        buckets = self._objects[res.storage_key]
        if res.namespaced and namespace:
            namespaces = [namespace] if namespace in buckets else []
        else:
            namespaces = sorted(buckets)
        for ns in namespaces:
            bucket = buckets[ns]
            for name in sorted(bucket):
                yield bucket[name]

    def list_raw(
        self,
        res: Resource,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[dict[str, Any]]:
        predicate = make_predicate(res, label_selector, field_selector)
        items = self.iter_raw(res, namespace)
        return list(items) if predicate is None else [o for o in items if predicate(o)]

    def list(
        self,
        res: Resource,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[dict[str, Any]]:
        return [deep_copy(o) for o in self.list_raw(res, namespace, label_selector, field_selector)]

    def json_of(self, obj: dict[str, Any], *, stored: bool = True) -> bytes:
        """The JSON of an object; for stored objects cached until that version is replaced."""
        cached = self._json_cache.get(id(obj))
        if cached is not None and cached[0] is obj:
            return cached[1]
        data = to_json(obj)
        if stored:
            self._json_cache[id(obj)] = (obj, data)
        return data

    def count(self, res: Resource) -> int:
        return sum(len(b) for b in self._objects[res.storage_key].values())

    def snapshot_at(
        self, res: Resource, namespace: str | None, rv: int
    ) -> builtins.list[dict[str, Any]] | None:
        """The objects as they were at `rv`, rebuilt from current state and history (for list continue).

        None when nothing of this kind changed since `rv`: the current state is that snapshot.
        """
        if rv < self.compacted_rv:
            raise errors.gone("too old resource version")
        prior: dict[Key, dict[str, Any] | None] = {}
        for ev in self.history:
            if ev.rv <= rv or ev.resource.storage_key != res.storage_key:
                continue
            m = ev.raw["metadata"]
            key = (m.get("namespace", ""), m["name"])
            if key not in prior:
                prior[key] = None if ev.type == "ADDED" else ev.old
        if not prior:
            return None
        current = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in self.iter_raw(res)}
        for key, old in prior.items():
            if old is None:
                current.pop(key, None)
            else:
                current[key] = old
        return [
            current[k] for k in sorted(current) if not (res.namespaced and namespace) or k[0] == namespace
        ]

    # --- listeners and history -----------------------------------------------------------------

    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def events_since(self, rv: int) -> builtins.list[WatchEvent]:
        """History after `rv`; 410 Expired when events after it were compacted away."""
        if rv < self.compacted_rv:
            raise errors.gone(f"too old resource version: {rv} ({self.compacted_rv})")
        return [ev for ev in self.history if ev.rv > rv]

    def compact(self) -> int:
        self.history.clear()
        self.compacted_rv = self.resource_version
        return self.compacted_rv

    def _emit(
        self, type_: str, res: Resource, obj: dict[str, Any], old: dict[str, Any] | None, rv: int
    ) -> None:
        if self.history.maxlen and len(self.history) == self.history.maxlen:
            self.compacted_rv = max(self.compacted_rv, self.history[0].rv)
        ev = WatchEvent(type_, res, obj, old, rv)
        self.history.append(ev)
        for fn in list(self._listeners):
            fn(ev)

    def _next_rv(self) -> int:
        self.resource_version += 1
        return self.resource_version

    # --- writes --------------------------------------------------------------------------------

    def _put(self, res: Resource, obj: dict[str, Any]) -> None:
        m = obj["metadata"]
        bucket = self._objects[res.storage_key].setdefault(m.get("namespace", ""), {})
        old = bucket.get(m["name"])
        if old is not None:
            self._json_cache.pop(id(old), None)
        bucket[m["name"]] = obj

    def _index_owners(self, res: Resource, obj: dict[str, Any], add: bool) -> None:
        m = obj["metadata"]
        ref = (res.storage_key, m.get("namespace", ""), m["name"])
        for owner in m.get("ownerReferences") or []:
            uid = owner.get("uid")
            if not uid:
                continue
            if add:
                self._dependents.setdefault(uid, set()).add(ref)
            else:
                deps = self._dependents.get(uid)
                if deps is not None:
                    deps.discard(ref)
                    if not deps:
                        del self._dependents[uid]

    def _check_namespace(self, res: Resource, namespace: str | None, obj: dict[str, Any]) -> str:
        if not res.namespaced:
            obj["metadata"].pop("namespace", None)
            return ""
        obj_ns = obj["metadata"].get("namespace")
        if namespace and obj_ns and obj_ns != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        ns = namespace or obj_ns or "default"
        obj["metadata"]["namespace"] = ns
        return str(ns)

    def create(  # noqa: PLR0912 - the steps of the real create path, in order
        self,
        res: Resource,
        namespace: str | None,
        obj: dict[str, Any],
        *,
        manager: str = "kubesim",
        dry_run: bool = False,
        managed_fields: builtins.list[dict[str, Any]] | None = None,
        owned: bool = False,
    ) -> dict[str, Any]:
        """Create an object; `managed_fields` (server-side apply) replaces the Update entry of `manager`.

        `owned=True` hands `obj` over (see the module docstring): no copy in, the stored object out.
        """
        if not owned:
            obj = drop_nulls(obj)  # the copy at the boundary also drops nulls, as typed decoding does
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        m = _normalized(obj)
        ns = self._check_namespace(res, namespace, obj)
        if not m.get("name"):
            if m.get("generateName"):
                m["name"] = f"{m['generateName']}{random_suffix()}"
            else:
                raise errors.invalid(
                    res,
                    "",
                    [
                        {
                            "reason": "FieldValueRequired",
                            "message": "name or generateName is required",
                            "field": "metadata.name",
                        }
                    ],
                )
        name = str(m["name"])
        if res.namespaced:
            ns_obj = self.peek(RESOURCES["namespaces"], None, ns)
            if ns_obj is None:
                raise errors.namespace_not_found(ns)
            if ns_obj["metadata"].get("deletionTimestamp"):
                raise ApiError(
                    403,
                    "Forbidden",
                    f'{res.plural} "{name}" is forbidden: unable to create new content in namespace {ns} '
                    "because it is being terminated",
                    {"name": name, "kind": res.plural},
                )
        for key in (
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
        ):
            m.pop(key, None)
        m["uid"] = str(uuid.uuid4())
        m["creationTimestamp"] = now_rfc3339()
        if res.tracks_generation:
            m["generation"] = 1
        else:
            m.pop("generation", None)
        with _decoding(res):
            apply_defaults(res.storage_key, obj, creating=True)
            validate(res, obj, creating=True)
        if self.peek(res, ns, name) is not None:
            raise errors.already_exists(res, name)
        if managed_fields is not None:
            m["managedFields"] = managed_fields
        else:
            record_update(None, obj, manager=manager, api_version=res.api_version, subresource=None)
        if dry_run:
            m["resourceVersion"] = ""
            return obj
        rv = self._next_rv()
        m["resourceVersion"] = str(rv)
        self._put(res, obj)
        self._index_owners(res, obj, add=True)
        self._emit("ADDED", res, obj, None, rv)
        return obj if owned else deep_copy(obj)

    def update(  # noqa: PLR0912, PLR0915 - the steps of the real update path, in order
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        obj: dict[str, Any],
        *,
        subresource: str | None = None,
        manager: str = "kubesim",
        dry_run: bool = False,
        operation: str = "Update",
        managed_fields_hook: Callable[[dict[str, Any] | None, dict[str, Any]], None] | None = None,
        check_immutable: bool = False,
        owned: bool = False,
    ) -> dict[str, Any]:
        """Replace an object (PUT). 409 on a stale resourceVersion; an empty one means unconditional.

        `managed_fields_hook` lets server-side apply record its own managedFields instead of Update's.
        `owned=True` hands `obj` over (see the module docstring): no copy in, the stored object out.
        """
        current = self.peek(res, namespace, name)
        if current is None:
            raise errors.not_found(res, name)
        new = obj if owned else drop_nulls(obj)  # the copy also drops nulls, as typed decoding does
        m = _normalized(new)
        if m.get("name") and m["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({m['name']}) does not match the name on the URL ({name})"
            )
        m["name"] = name
        self._check_namespace(res, namespace or current["metadata"].get("namespace"), new)
        given_rv = m.get("resourceVersion")
        cm = current["metadata"]
        if given_rv and given_rv != cm["resourceVersion"]:
            raise errors.conflict(res, name)
        new["apiVersion"] = res.api_version
        new["kind"] = res.kind
        if subresource == "status":
            # Status writes change only status (ResetObjectMetaForStatus and the status strategies).
            # A shallow copy is enough: everything below replaces fields of `new` and of its metadata (and
            # record_update builds a new managedFields list), so the stored object's subtrees are shared,
            # never changed.
            status = new.get("status")
            new = dict(current)
            new["metadata"] = dict(current["metadata"])
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status  # already private: the input was copied above or handed over
            m = new["metadata"]
        else:
            if res.has_status:
                if "status" in current:
                    new["status"] = current["status"]  # shared, never mutated (copy-on-write)
                else:
                    new.pop("status", None)
            for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
                if key in cm:
                    m[key] = cm[key]
                else:
                    m.pop(key, None)
            if "managedFields" not in m and "managedFields" in cm:
                m["managedFields"] = cm["managedFields"]  # record_update replaces the list, never edits it
            with _decoding(res):
                apply_defaults(res.storage_key, new, creating=False)
            if res.tracks_generation:
                changed = spec_part(new) != spec_part(current)
                m["generation"] = int(cm.get("generation", 1)) + (1 if changed else 0)
            with _decoding(res):
                validate(res, new, creating=False)
            if check_immutable:
                validate_immutable(res, current, new)
            if cm.get("deletionTimestamp"):
                self._check_no_new_finalizers(res, name, cm, m)
        m["resourceVersion"] = cm["resourceVersion"]
        if managed_fields_hook is not None:
            managed_fields_hook(current, new)
        else:
            record_update(
                current,
                new,
                manager=manager,
                api_version=res.api_version,
                subresource=subresource,
                operation=operation,
            )
        if new == current:
            return current if owned else deep_copy(current)  # no-op: no new resourceVersion, no event
        if dry_run:
            return new if owned else deep_copy(new)  # `new` may share subtrees with the stored object
        stored = self._store_update(res, current, new)
        return stored if owned else deep_copy(stored)

    def _check_no_new_finalizers(
        self, res: Resource, name: str, cm: dict[str, Any], m: dict[str, Any]
    ) -> None:
        added = set(m.get("finalizers") or []) - set(cm.get("finalizers") or [])
        if added:
            raise errors.invalid(
                res,
                name,
                [
                    {
                        "reason": "FieldValueForbidden",
                        "field": "metadata.finalizers",
                        "message": "Forbidden: no new finalizers can be added if the object is being deleted, "  # noqa: E501
                        f"found new finalizers {sorted(added)}",
                    }
                ],
            )

    def _store_update(self, res: Resource, current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        rv = self._next_rv()
        new["metadata"]["resourceVersion"] = str(rv)
        self._index_owners(res, current, add=False)
        self._put(res, new)
        self._index_owners(res, new, add=True)
        self._emit("MODIFIED", res, new, current, rv)
        m = new["metadata"]
        if m.get("deletionTimestamp") and not m.get("finalizers") and self._removable(res, new):
            self._remove(res, new)
        return new

    def _removable(self, res: Resource, obj: dict[str, Any]) -> bool:
        """A deleting object without finalizers goes, except a pod still being terminated by its kubelet."""
        m = obj["metadata"]
        if res.storage_key == "pods" and obj.get("spec", {}).get("nodeName"):
            return bool(m.get("deletionGracePeriodSeconds", 0) == 0)
        if res.storage_key == "namespaces":
            return self._namespace_empty(m["name"])
        return True

    def mutate(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        fn: Callable[[dict[str, Any]], None],
        *,
        subresource: str | None = None,
        manager: str = "kubesim",
    ) -> dict[str, Any]:
        """Read-modify-write for controllers; a no-op when `fn` changes nothing.

        `fn` edits the one private copy made here; the result is the stored object (read-only).
        """
        obj = self.get(res, namespace, name)
        fn(obj)
        obj["metadata"]["resourceVersion"] = ""
        return self.update(res, namespace, name, obj, subresource=subresource, manager=manager, owned=True)


def _normalized(obj: dict[str, Any]) -> dict[str, Any]:
    """JSON null decodes to "unset" in a typed server: drop null fields at the top and in metadata."""
    for key in [k for k, v in obj.items() if v is None]:
        del obj[key]
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    for key in [k for k, v in meta.items() if v is None]:
        del meta[key]
    _check_meta_types(meta)
    return meta


def _undecodable(field: str, want: str, value: Any) -> errors.ApiError:
    got = {str: "string", int: "number", float: "number", bool: "bool", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )
    return errors.bad_request(
        f"json: cannot unmarshal {got} into Go struct field ObjectMeta.{field} of type {want}"
    )


def _check_meta_types(meta: dict[str, Any]) -> None:
    """What a typed decoder refuses before any strategy runs: wrong JSON types in metadata."""
    for field in ("name", "generateName", "namespace", "resourceVersion", "uid"):
        if field in meta and not isinstance(meta[field], str):
            raise _undecodable(f"metadata.{field}", "string", meta[field])
    for field in ("labels", "annotations"):
        value = meta.get(field)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise _undecodable(f"metadata.{field}", "map[string]string", value)
        for item in value.values():
            if not isinstance(item, str):
                raise _undecodable(f"metadata.{field}", "string", item)
    finalizers = meta.get("finalizers")
    if finalizers is not None and not (
        isinstance(finalizers, list) and all(isinstance(f, str) for f in finalizers)
    ):
        raise _undecodable("metadata.finalizers", "[]string", finalizers)
    refs = meta.get("ownerReferences")
    if refs is not None and not (isinstance(refs, list) and all(isinstance(r, dict) for r in refs)):
        raise _undecodable("metadata.ownerReferences", "[]v1.OwnerReference", refs)


@contextlib.contextmanager
def _decoding(res: Resource) -> Iterator[None]:
    """A body of the wrong shape (a string where an object belongs, ...) is the client's error, as a
    typed decoder would report it, not a server failure. Only defaulting and validation run here."""
    try:
        yield
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        raise errors.bad_request(
            f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
            f"the request body has a field of the wrong type ({type(exc).__name__}: {exc})"
        ) from None
