"""managedFields bookkeeping for Update operations and for server-side apply (conflicts, force, removal)."""

from __future__ import annotations

import json
from typing import Any

from podium_kubesim import errors
from podium_kubesim.errors import ApiError
from podium_kubesim.fieldpaths import (
    Path,
    from_fields_v1,
    get_at,
    leaves,
    path_string,
    remove_at,
    strip_dot,
    to_fields_v1,
)
from podium_kubesim.objutil import now_rfc3339

# Metadata the server owns: never part of anyone's managed fields.
_SERVER_META = {
    "f:name",
    "f:namespace",
    "f:uid",
    "f:resourceVersion",
    "f:generation",
    "f:creationTimestamp",
    "f:managedFields",
    "f:deletionTimestamp",
    "f:deletionGracePeriodSeconds",
    "f:selfLink",
    "f:generateName",
}


def _owned_leaves(
    obj: dict[str, Any] | None, *, subresource: str | None, only: set[str] | None = None
) -> dict[Path, Any]:
    """Leaf paths and values a manager can own; `only` limits the walk to those top-level fields."""
    if obj is None:
        return {}
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind") and (only is None or k in only)}
    if subresource == "status":
        body = {"status": body.get("status")} if "status" in body else {}
    out = leaves(body)
    return {
        p: v for p, v in out.items() if not (len(p) > 1 and p[0] == "f:metadata" and p[1] in _SERVER_META)
    }


def _entries(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj.get("metadata", {}).get("managedFields") or [])


def _entry_paths(entry: dict[str, Any]) -> set[Path]:
    return from_fields_v1(entry.get("fieldsV1") or {})


def _set_entries(obj: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    kept = [e for e in entries if e.get("fieldsV1")]
    if kept:
        obj["metadata"]["managedFields"] = kept
    else:
        obj["metadata"].pop("managedFields", None)


def _same_entry(e: dict[str, Any], manager: str, operation: str, subresource: str | None) -> bool:
    return (
        e.get("manager") == manager
        and e.get("operation") == operation
        and (e.get("subresource") or None) == subresource
    )


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    api_version: str,
    subresource: str | None,
    operation: str = "Update",
) -> None:
    """Give `manager` the fields this write changed, and take them from everyone else."""
    # Only top-level fields that differ can hold changed leaves; comparing them is far cheaper than
    # walking them (a controller's status write leaves spec and metadata alone).
    only = None if old is None else {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    before = _owned_leaves(old, subresource=subresource, only=only)
    after = _owned_leaves(new, subresource=subresource, only=only)
    changed = {p for p in after if p not in before or before[p] != after[p]}
    removed = {p for p in before if p not in after}
    if old is None and subresource is None:
        # A create owns everything it wrote except status, which status writers own.
        changed = {p for p in changed if p[0] != "f:status"}
    entries = []
    for entry in _entries(new):
        paths = _entry_paths(entry)
        if paths & (changed | removed):
            entry = dict(entry, fieldsV1=to_fields_v1(paths - changed - removed))  # noqa: PLW2901
        entries.append(entry)
    if changed:
        mine = next((e for e in entries if _same_entry(e, manager, operation, subresource)), None)
        paths = (_entry_paths(mine) if mine else set()) | changed
        entry = {
            "manager": manager,
            "operation": operation,
            "apiVersion": api_version,
            "time": now_rfc3339(),
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(paths),
        }
        if subresource:
            entry["subresource"] = subresource
        if mine is not None:
            entries[entries.index(mine)] = entry
        else:
            entries.append(entry)
    _set_entries(new, entries)


def _manager_label(e: dict[str, Any]) -> str:
    label = json.dumps(e.get("manager", ""))
    if e.get("subresource"):
        label += f" with subresource {json.dumps(e['subresource'])}"
    if e.get("operation") == "Update":
        label += f" using {e.get('apiVersion')}"
    return label


def conflict_error(conflicts: list[tuple[str, Path]]) -> ApiError:
    """409 with apimachinery's apply-conflict message and one FieldManagerConflict cause per field."""
    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {m}", "field": path_string(p)}
        for m, p in conflicts
    ]
    if len(conflicts) == 1:
        m, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {m}: {path_string(p)}"
    else:
        by_manager: dict[str, list[str]] = {}
        for m, p in conflicts:
            by_manager.setdefault(m, []).append(path_string(p))
        lines: list[str] = []
        for m in sorted(by_manager):
            lines.append(f"conflicts with {m}:")
            lines += [f"- {p}" for p in by_manager[m]]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})


def apply_fields(  # noqa: PLR0912 - conflict detection, force and removal in one pass
    current: dict[str, Any] | None,
    merged: dict[str, Any],
    config: dict[str, Any],
    *,
    manager: str,
    api_version: str,
    subresource: str | None,
    force: bool,
) -> None:
    """Finish a server-side apply on `merged` (current state with `config` merged in).

    Raises 409 on conflicts unless forced; removes fields this manager applied before but no longer
    applies (when nobody else owns them); records the manager's Apply entry.
    """
    applied = _owned_leaves(config, subresource=None)
    applied_paths = set(applied)
    entries = _entries(current) if current is not None else []
    mine_idx = next((i for i, e in enumerate(entries) if _same_entry(e, manager, "Apply", subresource)), None)
    previous = _entry_paths(entries[mine_idx]) if mine_idx is not None else set()
    conflicts: list[tuple[str, Path]] = []
    for i, e in enumerate(entries):
        if i == mine_idx:
            continue
        for p in sorted(_entry_paths(e) & applied_paths):
            if p[-1] == ".":
                continue
            present, value = get_at(current, p)
            if not present or value != applied[p]:
                conflicts.append((_manager_label(e), p))
    if conflicts and not force:
        raise conflict_error(conflicts)
    updated: list[dict[str, Any]] = []
    for i, e in enumerate(entries):
        if i == mine_idx:
            continue
        paths = _entry_paths(e)
        lost = {p for _, p in conflicts} & paths if force else set()
        # Fields another manager owns with the same value stay shared; forced ones move to us.
        if lost:
            e = dict(e, fieldsV1=to_fields_v1(paths - lost))  # noqa: PLW2901 - a new dict, not a mutation
        updated.append(e)
    others: set[Path] = set()
    for e in updated:
        others |= _entry_paths(e)
    still_applied = {strip_dot(q) for q in applied_paths}
    # Outermost first: removing a list item by its key must happen before its key field goes.
    for p in sorted(previous - applied_paths, key=lambda q: len(strip_dot(q))):
        node = strip_dot(p)
        if node in still_applied:
            continue  # e.g. a map we still apply entries of
        # Keep what another manager owns, or anything beneath it.
        if any(strip_dot(q)[: len(node)] == node for q in others):
            continue
        remove_at(merged, p)
    entry: dict[str, Any] = {
        "manager": manager,
        "operation": "Apply",
        "apiVersion": api_version,
        "time": now_rfc3339(),
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(applied_paths),
    }
    if subresource:
        entry["subresource"] = subresource
    if mine_idx is not None:
        updated.insert(mine_idx, entry)
    else:
        updated.append(entry)
    merged.setdefault("metadata", {})
    _set_entries(merged, updated)


def require_field_manager(manager: str | None) -> str:
    if not manager:
        raise errors.bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set")
    return manager
