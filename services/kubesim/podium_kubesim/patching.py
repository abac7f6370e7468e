"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

Strategic merge follows apimachinery's `strategicpatch`: lists with a patchMergeKey merge item by item,
`$patch: delete|replace|merge`, `$retainKeys`, `$deleteFromPrimitiveList/<field>`, and
`$setElementOrder/<field>` (kubectl apply sends it; order is honoured for merged lists).
"""

from __future__ import annotations

from typing import Any

import jsonpatch

from podium_kubesim import errors
from podium_kubesim.objutil import deep_copy

# patchMergeKey of the lists kubesim's kinds declare (`patchStrategy:"merge"`); other lists are replaced.
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}
# Scalar lists merged as sets.
_MERGE_PRIMITIVES = {"finalizers"}

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"
PATCH_TYPES = (MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH, APPLY_PATCH)


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return deep_copy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: dict[str, Any], ops: Any) -> dict[str, Any]:
    if not isinstance(ops, list):
        raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    try:
        result: dict[str, Any] = jsonpatch.apply_patch(target, ops, in_place=False)
    except jsonpatch.JsonPatchConflict as exc:
        raise errors.ApiError(
            422, "Invalid", f"the server rejected our request due to an error in our request: {exc}"
        ) from None
    except (
        jsonpatch.JsonPatchException,
        jsonpatch.JsonPointerException,
        KeyError,
        IndexError,
        TypeError,
    ) as exc:
        raise errors.ApiError(
            422, "Invalid", f"the server rejected our request due to an error in our request: {exc}"
        ) from None
    return result


def merge_key_for(field: str, parent_path: tuple[str, ...]) -> str | None:
    if field == "ports":
        return "containerPort" if any(p.endswith("ontainers") for p in parent_path) else "port"
    return _MERGE_KEYS.get(field)


def strategic_merge(target: Any, patch: Any, path: tuple[str, ...] = ()) -> Any:  # noqa: PLR0912 - directives
    if not isinstance(patch, dict):
        return deep_copy(patch)
    if not isinstance(target, dict):
        target = {}
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: deep_copy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = dict(target)
    retain = patch.get("$retainKeys")
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
        elif key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            drop = set(map(str, value or []))
            result[field] = [v for v in result.get(field) or [] if str(v) not in drop]
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(value, list):
            result[key] = _merge_list(key, current, value, (*path, key), orders.get(key))
        elif isinstance(value, dict):
            merged = strategic_merge(current, value, (*path, key))
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = value
    if isinstance(retain, list):
        keep = set(retain)
        result = {k: v for k, v in result.items() if k in keep}
    return result


def _merge_list(
    field: str, current: Any, patch: list[Any], path: tuple[str, ...], order: list[Any] | None
) -> list[Any]:
    current = current if isinstance(current, list) else []
    if field in _MERGE_PRIMITIVES:
        merged = list(current)
        for v in patch:
            if v not in merged:
                merged.append(v)
        return merged
    key = merge_key_for(field, path[:-1])
    if key is None or not all(isinstance(v, dict) for v in patch):
        if len(patch) == 1 and isinstance(patch[0], dict) and patch[0].get("$patch") == "replace":
            return []
        return deep_copy(patch)
    items = [deep_copy(v) for v in current]
    for item in patch:
        directive = item.get("$patch")
        if directive == "replace":
            return [deep_copy({k: v for k, v in i.items() if k != "$patch"}) for i in patch if i is not item]
        idx = next(
            (i for i, cur in enumerate(items) if isinstance(cur, dict) and cur.get(key) == item.get(key)), -1
        )
        if directive == "delete":
            if idx >= 0:
                items.pop(idx)
            continue
        if idx >= 0:
            items[idx] = strategic_merge(items[idx], item, path)
        else:
            items.append(strategic_merge({}, item, path))
    if order:
        rank = {str(o.get(key) if isinstance(o, dict) else o): i for i, o in enumerate(order)}
        items.sort(key=lambda i: rank.get(str(i.get(key)), len(rank)))
    return items


def apply_merge(target: Any, config: Any, path: tuple[str, ...] = ()) -> Any:
    """Server-side apply's merge: maps merge, keyed lists merge by key, other lists are replaced."""
    if not isinstance(config, dict) or not isinstance(target, dict):
        return deep_copy(config)
    result = dict(target)
    for key, value in config.items():
        if isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value, (*path, key), None)
        elif isinstance(value, dict):
            result[key] = apply_merge(result.get(key), value, (*path, key))
        else:
            result[key] = value
    return result
