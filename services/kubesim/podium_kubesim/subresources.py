"""POST-only subresources and reviews: pods/eviction, pods/binding, SelfSubjectAccessReview."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from podium_kubesim import errors
from podium_kubesim.handlers import (
    Target,
    delete_one,
    dry_run,
    from_wire,
    json_response,
    manager_name,
    read_body,
)
from podium_kubesim.sim import KubeSim


async def access_review(request: Request, t: Target) -> Response:
    """SelfSubjectAccessReview: every bearer token is an administrator in kubesim."""
    review = from_wire(t, await read_body(request))
    review["apiVersion"], review["kind"] = t.res.api_version, t.res.kind
    review.setdefault("metadata", {})["creationTimestamp"] = None
    review["status"] = {"allowed": True, "reason": "kubesim authorizes every request"}
    return json_response(review, 201)


async def bind(sim: KubeSim, request: Request, t: Target) -> Response:
    """pods/binding: what an external scheduler posts to place a pod on a node."""
    assert t.name is not None
    body = await read_body(request)
    target = (body.get("target") or {}) if isinstance(body, dict) else {}
    node = target.get("name")
    if not node:
        raise errors.bad_request("a Binding needs target.name (the node)")
    pod = sim.store.get(t.res, t.namespace, t.name)
    if pod.get("spec", {}).get("nodeName"):
        raise errors.conflict(
            t.res, t.name, f'pod {t.name} is already assigned to node "{pod["spec"]["nodeName"]}"'
        )
    pod["spec"]["nodeName"] = node
    pod["metadata"]["resourceVersion"] = ""
    sim.store.update(t.res, t.namespace, t.name, pod, manager=manager_name(request), dry_run=dry_run(request))
    return json_response(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
    )


async def evict(sim: KubeSim, request: Request, t: Target) -> Response:
    """policy/v1 Eviction: with no PodDisruptionBudgets in kubesim, an eviction is a graceful delete."""
    assert t.name is not None
    body = await read_body(request)
    options = dict((body or {}).get("deleteOptions") or {}) if isinstance(body, dict) else {}
    dry = dry_run(request, options)
    delete_one(sim, request, t, t.name, options, dry)
    return json_response(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
    )
