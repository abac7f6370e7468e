"""The `/_sim/` admin API: fault injection, watch and history control, pausing controllers, state snapshot.

JSON in, JSON out. Documented in docs/kubesim.md; tests and the reliability suites drive kubesim through it.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from podium_kubesim import errors
from podium_kubesim.handlers import json_response
from podium_kubesim.scenario import ScenarioError, group_nodes, resize_node_group, settings_for
from podium_kubesim.sim import KubeSim


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise errors.bad_request("the request body must be JSON") from None
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be a JSON object")
    return body


async def handle(sim: KubeSim, request: Request, path: str) -> Response:  # noqa: PLR0911, PLR0912 - flat route table
    method = request.method
    parts = [p for p in path.split("/") if p]
    if parts == ["state"] and method == "GET":
        return json_response(sim.state())
    if parts == ["faults"]:
        if method == "GET":
            return json_response(sim.faults.snapshot())
        if method == "POST":
            body = await _json(request)
            specs = body.get("rules") if "rules" in body else [body]
            if not isinstance(specs, list):
                raise errors.bad_request("rules must be a list")
            rules = [sim.faults.add(spec) for spec in specs or []]
            return json_response({"ids": [r.id for r in rules], **sim.faults.snapshot()}, 201)
        if method == "DELETE":
            sim.faults.clear()
            return json_response(sim.faults.snapshot())
    if len(parts) == 2 and parts[0] == "faults" and method == "DELETE":
        if not parts[1].isdigit() or not sim.faults.remove(int(parts[1])):
            raise errors.ApiError(404, "NotFound", f"fault rule {parts[1]} not found")
        return json_response(sim.faults.snapshot())
    if parts == ["latency"] and method in ("PUT", "POST"):
        body = await _json(request)
        seconds = body.get("seconds", 0.0)
        if not isinstance(seconds, int | float):
            raise errors.bad_request("seconds must be a number")
        sim.faults.latency_seconds = max(0.0, float(seconds))
        return json_response(sim.faults.snapshot())
    if parts == ["watches", "close"] and method == "POST":
        return json_response({"closed": sim.watches.close_all()})
    if parts == ["compact"] and method == "POST":
        return json_response({"compactedResourceVersion": str(sim.store.compact())})
    if parts == ["pause"] and method == "POST":
        sim.paused = True
        return json_response({"paused": True})
    if parts == ["resume"] and method == "POST":
        sim.paused = False
        return json_response({"paused": False})
    if parts == ["logs"] and method == "POST":
        body = await _json(request)
        for key in ("namespace", "pod", "container", "lines"):
            if key not in body:
                raise errors.bad_request(f"{key} is required")
        if not isinstance(body["lines"], list):
            raise errors.bad_request("lines must be a list of strings")
        for line in body["lines"]:
            sim.logs.append(str(body["namespace"]), str(body["pod"]), str(body["container"]), str(line))
        return json_response({"appended": len(body["lines"])})
    if parts == ["nodegroups"] and method == "GET":
        groups = settings_for(sim).node_groups
        return json_response({"nodeGroups": {g: _node_names(sim, g) for g in sorted(groups)}})
    if len(parts) == 2 and parts[0] == "nodegroups" and method == "POST":
        return json_response(_resize(sim, parts[1], await _json(request)))
    raise errors.ApiError(404, "NotFound", f"no admin endpoint {method} /_sim/{path}")


def _node_names(sim: KubeSim, group: str) -> list[str]:
    return [n["metadata"]["name"] for n in group_nodes(sim, group)]


def _resize(sim: KubeSim, group: str, body: dict[str, Any]) -> dict[str, Any]:
    """Scale a node group (EKS node group / HyperPod instance group) to `count` nodes."""
    count = body.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise errors.bad_request("count must be a non-negative integer")
    spec = body.get("spec")
    if spec is not None and not isinstance(spec, dict):
        raise errors.bad_request("spec must be a scenario nodeGroups entry (an object)")
    before = set(_node_names(sim, group))
    try:
        changed = resize_node_group(sim, group, count, spec)
    except ScenarioError as exc:
        if group not in settings_for(sim).node_groups:
            raise errors.ApiError(404, "NotFound", str(exc)) from None
        raise errors.bad_request(str(exc)) from None
    nodes = _node_names(sim, group)
    added = [n for n in changed if n not in before]
    removed = [n for n in changed if n in before]
    return {"group": group, "count": len(nodes), "added": added, "removed": removed, "nodes": nodes}
