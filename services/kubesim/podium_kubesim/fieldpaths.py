"""Field paths of structured-merge-diff: what managedFields (FieldsV1) and server-side apply reason about.

A path is a tuple of FieldsV1 elements: "f:spec" (a field), 'k:{"name":"app"}' (an item of a list merged by
key), 'v:"x"' (an item of a set-like list). List item elements are members themselves (FieldsV1 ".").
Lists without merge keys are atomic: the whole list is one leaf, as in the real schemas.
"""

from __future__ import annotations

import json
from typing import Any

Path = tuple[str, ...]

# Merge keys of the associative lists in the kinds kubesim serves (the `+listMapKey` / patchMergeKey tags).
_LIST_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "volumes": ("name",),
    "env": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "conditions": ("type",),
    "ownerReferences": ("uid",),
    "resourceClaims": ("name",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
}
# Lists that are sets of scalars (`+listType=set`): finalizers and the like.
_SET_LISTS = {"finalizers"}
# Map-typed fields (as opposed to structs): the map node itself is a member (FieldsV1 ".").
_MAP_FIELDS = {
    "labels",
    "annotations",
    "data",
    "binaryData",
    "stringData",
    "nodeSelector",
    "matchLabels",
    "limits",
    "requests",
    "capacity",
    "allocatable",
    "selector",
}


def list_keys(parent: Path, field: str) -> tuple[str, ...] | None:
    """Merge keys for list `field` found under `parent`, or None for an atomic list."""
    if field == "ports":
        in_container = any(p in ("f:containers", "f:initContainers", "f:ephemeralContainers") for p in parent)
        return ("containerPort", "protocol") if in_container else ("port", "protocol")
    return _LIST_KEYS.get(field)


def item_key(keys: tuple[str, ...], item: Any, field: str = "") -> str:
    if not isinstance(item, dict):
        return "v:" + json.dumps(item, separators=(",", ":"))
    values = {k: item.get(k, "TCP" if k == "protocol" else None) for k in keys}
    return "k:" + json.dumps(values, separators=(",", ":"))


def leaves(obj: Any, prefix: Path = ()) -> dict[Path, Any]:
    """Every member path of `obj` mapped to its value (lists items and map nodes map to a marker)."""
    out: dict[Path, Any] = {}
    _walk(obj, prefix, out)
    return out


_NODE = object()  # marker value for non-leaf members (list items, maps)


def _walk(value: Any, path: Path, out: dict[Path, Any]) -> None:
    if not isinstance(value, dict):
        out[path] = value
        return
    if not value:
        out[path] = {}
        return
    for key, sub in value.items():
        p = (*path, f"f:{key}")
        if isinstance(sub, list) and sub:
            keys = list_keys(path, key)
            if keys is not None or key in _SET_LISTS:
                out[(*p, ".")] = _NODE
                for item in sub:
                    ip = (*p, item_key(keys or (), item, key))
                    if isinstance(item, dict):
                        out[(*ip, ".")] = _NODE
                        _walk(item, ip, out)
                    else:
                        out[ip] = item
                continue
            out[p] = sub
        elif isinstance(sub, dict) and sub and key in _MAP_FIELDS:
            out[(*p, ".")] = _NODE
            _walk(sub, p, out)
        else:
            _walk(sub, p, out)


def strip_dot(path: Path) -> Path:
    return path[:-1] if path and path[-1] == "." else path


def to_fields_v1(paths: set[Path] | dict[Path, Any]) -> dict[str, Any]:
    """The FieldsV1 tree of a path set. Trees are shared between objects with the same fields (pods of
    one template): stored objects are never mutated, and readers get deep copies, so sharing is safe
    and saves about a third of the store's memory."""
    key = frozenset(paths)
    tree = _TREES.get(key)
    if tree is None:
        tree = {}
        for path in sorted(key):
            node = tree
            for el in path:
                node = node.setdefault(el, {})
        if len(_TREES) >= _MAX_TREES:
            _TREES.clear()
        _TREES[key] = tree
    return tree


_TREES: dict[frozenset[Path], dict[str, Any]] = {}
_MAX_TREES = 4096


def from_fields_v1(tree: dict[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for el, sub in tree.items():
        p = (*prefix, el)
        if el == "." or not sub:
            out.add(p)
        else:
            out |= from_fields_v1(sub, p)
    return out


def path_string(path: Path) -> str:
    """`.spec.containers[name="app"].image`, the form apply conflict messages use."""
    parts: list[str] = []
    for el in strip_dot(path):
        kind, _, rest = el.partition(":")
        if kind == "f":
            parts.append("." + rest)
        elif kind == "k":
            keyvals = json.loads(rest)
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keyvals.items()) + "]")
        elif kind == "v":
            parts.append(f"[={rest}]")
    return "".join(parts)


def _find_item(items: list[Any], el: str, keys: tuple[str, ...] | None) -> int:
    for i, item in enumerate(items):
        if item_key(keys or (), item) == el:
            return i
    return -1


def get_at(obj: Any, path: Path) -> tuple[bool, Any]:
    """(present, value) at a member path."""
    cur = obj
    parent: Path = ()
    field = ""
    for el in strip_dot(path):
        kind, _, rest = el.partition(":")
        if kind == "f":
            if not isinstance(cur, dict) or rest not in cur:
                return False, None
            cur = cur[rest]
            field = rest
        else:
            if not isinstance(cur, list):
                return False, None
            idx = _find_item(cur, el, list_keys(parent[:-1], field))
            if idx < 0:
                return False, None
            cur = cur[idx]
        parent = (*parent, el)
    return True, cur


def remove_at(obj: Any, path: Path) -> None:
    path = strip_dot(path)
    if not path:
        return
    present, container = get_at(obj, path[:-1])
    if not present:
        return
    el = path[-1]
    kind, _, rest = el.partition(":")
    if kind == "f" and isinstance(container, dict):
        container.pop(rest, None)
    elif isinstance(container, list):
        field = path[-2].partition(":")[2] if len(path) > 1 else ""
        idx = _find_item(container, el, list_keys(path[:-2], field))
        if idx >= 0:
            container.pop(idx)
