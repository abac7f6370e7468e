"""Resource verbs over HTTP: get, list, create, update, patch, delete, deletecollection, status and scale."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response

from podium_kubesim import errors, eventsv1, patching, tables
from podium_kubesim.fieldmanager import apply_fields, require_field_manager
from podium_kubesim.objutil import deep_copy, drop_nulls, to_json
from podium_kubesim.resources import Resource
from podium_kubesim.schema import drop_unknown_fields
from podium_kubesim.selectors import make_predicate, selector_from_label_selector_object
from podium_kubesim.sim import KubeSim


@dataclass
class Target:
    res: Resource
    namespace: str | None
    name: str | None
    subresource: str | None
    rest: str  # what follows the subresource (proxy paths)


def dumps(obj: Any) -> bytes:
    return to_json(obj)


def json_response(obj: Any, status: int = 200, warnings: list[str] | None = None) -> Response:
    # RFC 7234 warn-text is a quoted string: inner quotes are escaped, as kube-apiserver does.
    texts = [w.replace("\\", "\\\\").replace('"', '\\"') for w in warnings or []]
    headers = {"Warning": ", ".join(f'299 - "{t}"' for t in texts)} if texts else None
    return Response(dumps(obj), status_code=status, media_type="application/json", headers=headers)


def _check_secret_data(t: Target, obj: dict[str, Any]) -> None:
    """Secret `data` is base64 on the wire; the real decoder refuses anything else."""
    if t.res.storage_key != "secrets" or not isinstance(obj.get("data"), dict):
        return
    for value in obj["data"].values():
        try:
            base64.b64decode(str(value), validate=True)
        except ValueError as exc:
            raise errors.bad_request(
                f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data ({exc})'
            ) from None


def _known_fields(request: Request, t: Target, obj: dict[str, Any]) -> list[str]:
    """Drop fields the kind does not have, as decoding into typed structs does; Strict refuses them."""
    _check_secret_data(t, obj)
    unknown = drop_unknown_fields(t.res, obj)
    if not unknown:
        return []
    messages = [f'unknown field "{field}"' for field in unknown]
    if request.query_params.get("fieldValidation") == "Strict":
        kind, version = t.res.kind, t.res.version
        raise errors.bad_request(
            f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding error: '
            + ", ".join(messages)
        )
    if request.query_params.get("fieldValidation") == "Ignore":
        return []
    return messages


def q_bool(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


def q_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise errors.bad_request(f'invalid value for {name}: "{raw}"') from None


def dry_run(request: Request, body: dict[str, Any] | None = None) -> bool:
    values = request.query_params.getlist("dryRun") + list((body or {}).get("dryRun") or [])
    for v in values:
        if v != "All":
            raise errors.bad_request(f"Invalid dry run value: {v}; supported values: [All]")
    return bool(values)


def manager_name(request: Request) -> str:
    manager = request.query_params.get("fieldManager")
    if manager:
        return manager
    # Like the real server: the user agent's program name when no fieldManager is given.
    agent = request.headers.get("user-agent", "unknown")
    return agent.split("/", 1)[0] or "unknown"


async def read_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        raise errors.bad_request("the request body is empty")
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
    try:
        if ctype == patching.APPLY_PATCH:
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"error decoding request body: {exc}") from None


def to_wire(t: Target, obj: dict[str, Any]) -> dict[str, Any]:
    return eventsv1.to_v1(obj) if t.res.alias_of else obj


def from_wire(t: Target, obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise errors.bad_request("the request body must be a JSON object")
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if kind and kind != t.res.kind and not (t.subresource == "scale" and kind == "Scale"):
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version "
            f"({t.res.api_version})"
            if api_version != t.res.api_version
            else f"the kind in the data ({kind}) does not match the expected kind ({t.res.kind})"
        )
    return eventsv1.from_v1(obj) if t.res.alias_of else obj


# --- reads ---------------------------------------------------------------------------------------


def get(sim: KubeSim, request: Request, t: Target) -> Response:
    assert t.name is not None
    obj = sim.store.peek(t.res, t.namespace, t.name)
    if obj is None:
        raise errors.not_found(t.res, t.name)
    if t.subresource == "scale":
        return json_response(scale_of(t.res, obj))
    wire = to_wire(t, obj)
    if tables.wants_table(request):
        return json_response(tables.table(sim, t.res, [wire], request, single=True))
    return json_response(wire)


def _encode_continue(rv: int, start_after: tuple[str, str]) -> str:
    raw = dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(start_after)})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return int(raw["rv"]), (str(raw["start"][0]), str(raw["start"][1]))
    except (ValueError, KeyError, TypeError, IndexError):
        raise errors.bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion"
        ) from None


def _list_rv(request: Request, current: int) -> int:
    raw = request.query_params.get("resourceVersion", "")
    match = request.query_params.get("resourceVersionMatch")
    if match and raw == "" and "continue" not in request.query_params:
        raise errors.bad_request("resourceVersionMatch is forbidden unless resourceVersion is provided")
    if match == "Exact" and raw == "0":
        raise errors.bad_request('resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
    if raw in ("", "0"):
        return current
    try:
        rv = int(raw)
    except ValueError:
        raise errors.bad_request(f"invalid resource version: {raw}") from None
    if rv > current:
        # A real server waits a few seconds for the watch cache, then gives up like this.
        raise errors.ApiError(
            504,
            "Timeout",
            f"Too large resource version: {rv}, current: {current}",
            {
                "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                "retryAfterSeconds": 1,
            },
        )
    return rv


def list_objects(sim: KubeSim, request: Request, t: Target) -> Response:
    store = sim.store
    params = request.query_params
    predicate = make_predicate(t.res, params.get("labelSelector"), params.get("fieldSelector"))
    limit = max(q_int(request, "limit") or 0, 0)  # zero or negative: no limit, as on a real server
    token = params.get("continue")
    if token:
        rv, start_after = _decode_continue(token)
        try:
            source = store.snapshot_at(t.res, t.namespace, rv)
        except errors.ApiError:
            raise errors.gone(
                "The provided continue parameter is too old to display a consistent list result. "
                "You can start a new list without the continue parameter, or use the continue token "
                "in this response to retrieve the remainder of the results. Continuing with the provided "
                "token results in an inconsistent list - objects that were created, modified, or deleted "
                "between the time the first "
                "chunk was returned and now may show up in the list."
            ) from None
        stored = source is None
        items_iter: Iterator[dict[str, Any]] = (
            o
            for o in (store.iter_raw(t.res, t.namespace) if source is None else source)
            if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start_after
        )
    elif params.get("resourceVersionMatch") == "Exact":
        rv = _list_rv(request, store.resource_version)
        try:
            snapshot = store.snapshot_at(t.res, t.namespace, rv)
        except errors.ApiError:
            raise errors.gone(f"too old resource version: {rv} ({store.compacted_rv})") from None
        stored = snapshot is None
        items_iter = store.iter_raw(t.res, t.namespace) if snapshot is None else iter(snapshot)
    else:
        # "", "0" and NotOlderThan are all answered from the current state, which is never older.
        _list_rv(request, store.resource_version)
        rv = store.resource_version
        stored = True
        items_iter = store.iter_raw(t.res, t.namespace)
    if predicate is not None:
        items_iter = (o for o in items_iter if predicate(o))
    items = list(items_iter)
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if limit and len(items) > limit:
        last = items[limit - 1]["metadata"]
        meta["continue"] = _encode_continue(rv, (last.get("namespace", ""), last["name"]))
        if predicate is None:  # like the real server: no count when a selector filters the list
            meta["remainingItemCount"] = len(items) - limit
        items = items[:limit]
    if t.res.alias_of:
        items = [eventsv1.to_v1(o) for o in items]
        stored = False
    if tables.wants_table(request):
        table = tables.table(sim, t.res, items, request)
        table["metadata"] = meta
        return json_response(table)
    head = dumps({"kind": t.res.list_kind, "apiVersion": t.res.api_version, "metadata": meta})
    body = head[:-1] + b',"items":[' + b",".join(sim.store.json_of(o, stored=stored) for o in items) + b"]}"
    return Response(body, media_type="application/json")


# --- writes --------------------------------------------------------------------------------------


async def create(sim: KubeSim, request: Request, t: Target) -> Response:
    # Nulls are dropped once here (typed decoding never stores them); the cleaned copy belongs to this
    # request alone, so the store takes it over instead of copying it again.
    body = drop_nulls(from_wire(t, await read_body(request)))
    warnings = _known_fields(request, t, body)
    created = sim.store.create(
        t.res, t.namespace, body, manager=manager_name(request), dry_run=dry_run(request), owned=True
    )
    return json_response(to_wire(t, created), 201, warnings)


async def update(sim: KubeSim, request: Request, t: Target) -> Response:
    assert t.name is not None
    body = from_wire(t, await read_body(request))
    if t.subresource == "scale":
        return json_response(_write_scale(sim, request, t, body))
    if sim.store.peek(t.res, t.namespace, t.name) is None:
        raise errors.not_found(t.res, t.name)
    body = drop_nulls(body)
    warnings = _known_fields(request, t, body)
    updated = sim.store.update(
        t.res,
        t.namespace,
        t.name,
        body,
        subresource=t.subresource,
        manager=manager_name(request),
        dry_run=dry_run(request),
        check_immutable=True,
        owned=True,  # the cleaned body belongs to this request alone
    )
    return json_response(to_wire(t, updated), warnings=warnings)


async def patch(sim: KubeSim, request: Request, t: Target) -> Response:
    assert t.name is not None
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    if ctype not in patching.PATCH_TYPES:
        raise errors.unsupported_media_type(ctype)
    body = await read_body(request)
    manager = manager_name(request)
    dry = dry_run(request)
    if ctype == patching.APPLY_PATCH:
        existed = sim.store.peek(t.res, t.namespace, t.name) is not None
        return json_response(_apply(sim, request, t, body, dry), 200 if existed else 201)
    current = sim.store.peek(t.res, t.namespace, t.name)
    if current is None:
        raise errors.not_found(t.res, t.name)
    if t.subresource == "scale":
        patched_scale = _patch_doc(ctype, scale_of(t.res, current), body)
        return json_response(_write_scale(sim, request, t, patched_scale))
    wire = to_wire(t, current)
    # The patched document shares unchanged parts with the stored object; drop_nulls makes it this
    # request's own (and drops nulls a JSON patch may have added), so the store can take it over.
    patched = drop_nulls(from_wire(t, _patch_doc(ctype, wire, body)))
    warnings = _known_fields(request, t, patched)
    # A patch without a resourceVersion is unconditional; with one, update() checks it.
    if not (isinstance(body, dict) and (body.get("metadata") or {}).get("resourceVersion")):
        patched.setdefault("metadata", {})["resourceVersion"] = ""
    updated = sim.store.update(
        t.res,
        t.namespace,
        t.name,
        patched,
        subresource=t.subresource,
        manager=manager,
        dry_run=dry,
        check_immutable=True,
        owned=True,
    )
    return json_response(to_wire(t, updated), warnings=warnings)


def _patch_doc(ctype: str, doc: dict[str, Any], body: Any) -> dict[str, Any]:
    if ctype == patching.JSON_PATCH:
        return patching.json_patch(doc, body)
    if not isinstance(body, dict):
        raise errors.bad_request("the patch body must be a JSON object")
    if ctype == patching.MERGE_PATCH:
        return patching.merge_patch(doc, body)  # type: ignore[no-any-return]
    return patching.strategic_merge(doc, body)  # type: ignore[no-any-return]


def _apply(sim: KubeSim, request: Request, t: Target, body: Any, dry: bool) -> dict[str, Any]:
    assert t.name is not None
    manager = require_field_manager(request.query_params.get("fieldManager"))
    force = q_bool(request, "force")
    config = from_wire(t, body)
    _known_fields(request, t, config)
    if not config.get("apiVersion") or not config.get("kind"):
        raise errors.bad_request("apiVersion and kind must be set in an apply configuration")
    cmeta = config.setdefault("metadata", {})
    if cmeta.get("name") and cmeta["name"] != t.name:
        raise errors.bad_request(
            f"the name of the object ({cmeta['name']}) does not match the name on the URL ({t.name})"
        )
    cmeta["name"] = t.name
    config_fields = {k: v for k, v in config.items() if k not in ("apiVersion", "kind")}
    current = sim.store.peek(t.res, t.namespace, t.name)
    if current is None:
        if t.subresource:
            raise errors.not_found(t.res, t.name)
        obj = deep_copy(config)
        apply_fields(
            None,
            obj,
            config_fields,
            manager=manager,
            api_version=t.res.api_version,
            subresource=None,
            force=force,
        )
        return to_wire(
            t,
            sim.store.create(
                t.res,
                t.namespace,
                obj,
                manager=manager,
                dry_run=dry,
                managed_fields=obj["metadata"].get("managedFields"),
            ),
        )
    base = deep_copy(current)
    merged = patching.apply_merge(base, config_fields)
    apply_fields(
        current,
        merged,
        config_fields,
        manager=manager,
        api_version=t.res.api_version,
        subresource=t.subresource,
        force=force,
    )
    rv = cmeta.get("resourceVersion", "")
    merged["metadata"]["resourceVersion"] = rv
    updated = sim.store.update(
        t.res,
        t.namespace,
        t.name,
        merged,
        subresource=t.subresource,
        manager=manager,
        dry_run=dry,
        managed_fields_hook=_keep_managed_fields(merged["metadata"].get("managedFields")),
        check_immutable=True,
    )
    return to_wire(t, updated)


def _keep_managed_fields(entries: list[dict[str, Any]] | None) -> Any:
    def hook(_current: dict[str, Any] | None, new: dict[str, Any]) -> None:
        if entries:
            new["metadata"]["managedFields"] = entries
        else:
            new["metadata"].pop("managedFields", None)

    return hook


async def _delete_options(request: Request) -> dict[str, Any]:
    raw = await request.body()
    options: dict[str, Any] = {}
    if raw:
        try:
            options = json.loads(raw) or {}
        except ValueError:
            raise errors.bad_request("error decoding DeleteOptions") from None
    params = request.query_params
    if "propagationPolicy" in params:
        options["propagationPolicy"] = params["propagationPolicy"]
    if "gracePeriodSeconds" in params:
        options["gracePeriodSeconds"] = q_int(request, "gracePeriodSeconds")
    if params.get("orphanDependents") is not None and "propagationPolicy" not in options:
        options["propagationPolicy"] = "Orphan" if q_bool(request, "orphanDependents") else "Background"
    if options.get("orphanDependents") is True and "propagationPolicy" not in options:
        options["propagationPolicy"] = "Orphan"
    return options


def delete_one(  # noqa: PLR0917 - internal helper mirroring the delete handler's inputs
    sim: KubeSim, request: Request, t: Target, name: str, options: dict[str, Any], dry: bool
) -> dict[str, Any]:
    pre = options.get("preconditions") or {}
    return sim.store.delete(
        t.res,
        t.namespace,
        name,
        propagation=options.get("propagationPolicy") or "Background",
        grace_period_seconds=options.get("gracePeriodSeconds"),
        manager=manager_name(request),
        dry_run=dry,
        precondition_uid=pre.get("uid"),
        precondition_rv=pre.get("resourceVersion"),
    )


# Kinds whose registry sets `ReturnDeletedObject: true` (pod, service, serviceaccount, PV and PVC storage in
# kubernetes/pkg/registry): a delete answers the deleted object. Every other generic registry answers a
# Status Success once the object is gone (`finalizeDelete`); the generated clients type the response
# accordingly (`delete_namespaced_service` -> V1Service, `delete_namespaced_deployment` -> V1Status).
RETURNS_DELETED_OBJECT = frozenset(
    {"pods", "services", "serviceaccounts", "persistentvolumes", "persistentvolumeclaims"}
)


async def delete(sim: KubeSim, request: Request, t: Target) -> Response:
    assert t.name is not None
    options = await _delete_options(request)
    dry = dry_run(request, options)
    last = delete_one(sim, request, t, t.name, options, dry)
    # An object that is still there (finalizers, foreground deletion, a terminating pod or namespace) is
    # answered as it now is, with its deletionTimestamp, whatever the kind.
    if dry or sim.store.exists(t.res, t.namespace, t.name) or t.res.storage_key in RETURNS_DELETED_OBJECT:
        return json_response(to_wire(t, last))
    details: dict[str, Any] = {"name": t.name, "kind": t.res.plural, "uid": last["metadata"]["uid"]}
    if t.res.group:
        details["group"] = t.res.group
    return json_response(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
    )


async def delete_collection(sim: KubeSim, request: Request, t: Target) -> Response:
    # Like the real server: no deletecollection of namespaces, nor of a namespaced kind across namespaces.
    if t.res.storage_key == "namespaces" or (t.res.namespaced and not t.namespace):
        raise errors.method_not_allowed()
    options = await _delete_options(request)
    dry = dry_run(request, options)
    params = request.query_params
    victims = sim.store.list_raw(t.res, t.namespace, params.get("labelSelector"), params.get("fieldSelector"))
    deleted = []
    for obj in victims:
        m = obj["metadata"]
        target = Target(t.res, m.get("namespace") or None, m["name"], None, "")
        try:
            deleted.append(to_wire(t, delete_one(sim, request, target, m["name"], options, dry)))
        except errors.ApiError as exc:
            if exc.code != 404:
                raise
    meta = {"resourceVersion": str(sim.store.resource_version)}
    return json_response(
        {"kind": t.res.list_kind, "apiVersion": t.res.api_version, "metadata": meta, "items": deleted}
    )


# --- scale subresource ---------------------------------------------------------------------------


def scale_of(res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    if "scale" not in res.subresources:
        raise errors.not_found(res, obj["metadata"]["name"])
    m = obj["metadata"]
    reqs = selector_from_label_selector_object((obj.get("spec") or {}).get("selector"))
    selector = ",".join(
        f"{r.key}={r.values[0]}" if r.op == "=" else f"{r.key} {r.op} ({','.join(r.values)})" for r in reqs
    )
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: m[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in m
        },
        "spec": {"replicas": int((obj.get("spec") or {}).get("replicas", 0))},
        "status": {"replicas": int((obj.get("status") or {}).get("replicas", 0)), "selector": selector},
    }


def _write_scale(sim: KubeSim, request: Request, t: Target, scale: dict[str, Any]) -> dict[str, Any]:
    assert t.name is not None
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise errors.invalid(
            t.res,
            t.name,
            [
                {
                    "reason": "FieldValueInvalid",
                    "field": "spec.replicas",
                    "message": f"Invalid value: {json.dumps(replicas)}: must be greater than or equal to 0",
                }
            ],
        )
    current = sim.store.get(t.res, t.namespace, t.name)
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    if rv and rv != current["metadata"]["resourceVersion"]:
        raise errors.conflict(t.res, t.name)
    current["spec"]["replicas"] = replicas
    current["metadata"]["resourceVersion"] = ""
    updated = sim.store.update(
        t.res,
        t.namespace,
        t.name,
        current,
        manager=manager_name(request),
        dry_run=dry_run(request),
        subresource="scale",
    )
    return scale_of(t.res, updated)
