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
    raise errors.ApiError(404, "NotFound", f"no admin endpoint {method} /_sim/{path}")
