"""Long-lived responses: watch streams (newline-delimited JSON events) and pod log follow."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from podium_kubesim import errors, eventsv1, tables
from podium_kubesim.handlers import Target, dumps, q_bool, q_int
from podium_kubesim.selectors import make_predicate
from podium_kubesim.sim import KubeSim
from podium_kubesim.watchhub import Converter, Watcher, envelope

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _bookmark(t: Target, rv: int, initial_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": str(rv), "creationTimestamp": None}
    if initial_end:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    obj = {"kind": t.res.kind, "apiVersion": t.res.api_version, "metadata": meta}
    return envelope("BOOKMARK", dumps(obj))


def _converter(sim: KubeSim, t: Target, request: Request) -> Converter | None:
    if tables.wants_table(request):
        base = eventsv1.to_v1 if t.res.alias_of else None

        def to_table(obj: dict[str, Any]) -> dict[str, Any]:
            return tables.table(sim, t.res, [base(obj) if base else obj], request)

        return to_table
    if t.res.alias_of:
        return eventsv1.to_v1
    return None


def watch(sim: KubeSim, request: Request, t: Target) -> Response:
    params = request.query_params
    predicate = make_predicate(t.res, params.get("labelSelector"), params.get("fieldSelector"))
    if t.name:  # watch on a single object: the real server turns it into a metadata.name field selector
        by_name = make_predicate(t.res, None, f"metadata.name={t.name}")
        assert by_name is not None
        inner = predicate
        predicate = by_name if inner is None else (lambda o: by_name(o) and inner(o))
    bookmarks = q_bool(request, "allowWatchBookmarks")
    timeout = q_int(request, "timeoutSeconds")
    rv_param = params.get("resourceVersion", "")
    send_initial = q_bool(request, "sendInitialEvents")
    if send_initial and params.get("resourceVersionMatch") != "NotOlderThan":
        raise errors.invalid(
            t.res,
            "",
            [
                {
                    "reason": "FieldValueForbidden",
                    "field": "resourceVersionMatch",
                    "message": "Forbidden: sendInitialEvents requires setting resourceVersionMatch "
                    "to NotOlderThan",
                }
            ],
        )
    converter = _converter(sim, t, request)
    hub = sim.watches
    lines: list[bytes] = []
    initial_end: int | None = None
    if send_initial or rv_param in ("", "0"):
        # Current state as synthetic ADDED events, registered in the same loop step so nothing slips by.
        watcher = hub.open(t.res, t.namespace, predicate, converter, since_rv=None)
        for obj in sim.store.iter_raw(t.res, t.namespace):
            if watcher.sees(obj):
                lines.append(
                    envelope("ADDED", dumps(converter(obj)) if converter else sim.store.json_of(obj))
                )
        if send_initial and bookmarks:
            initial_end = sim.store.resource_version
    else:
        try:
            since = int(rv_param)
        except ValueError:
            raise errors.bad_request(f'invalid resource version "{rv_param}"') from None
        try:
            watcher = hub.open(t.res, t.namespace, predicate, converter, since_rv=since)
        except errors.ApiError as exc:
            # A too-old resourceVersion is reported inside the stream, as the real server does.
            body = envelope("ERROR", dumps(exc.status()))
            return Response(body, media_type="application/json")
    watcher.lines.extendleft(reversed(lines))
    if initial_end is not None:
        watcher.lines.insert(len(lines), _bookmark(t, initial_end, initial_end=True))
    watcher.wakeup.set()
    return StreamingResponse(
        _stream(sim, t, watcher, bookmarks, timeout),
        media_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
    )


async def _stream(
    sim: KubeSim, t: Target, watcher: Watcher, bookmarks: bool, timeout_seconds: int | None
) -> AsyncIterator[bytes]:
    deadline = time.monotonic() + timeout_seconds if timeout_seconds else None
    interval = sim.bookmark_interval
    next_bookmark = time.monotonic() + interval
    try:
        while True:
            if watcher.lines:
                # Flush everything queued in one write: far fewer syscalls for busy watches.
                batch = b"".join(watcher.lines)
                watcher.lines.clear()
                yield batch
                continue
            if watcher.closed:
                return
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            if bookmarks and now >= next_bookmark:
                next_bookmark = now + interval
                yield _bookmark(t, sim.store.resource_version)
                continue
            wait = next_bookmark - now if bookmarks else 3600.0
            if deadline is not None:
                wait = min(wait, deadline - now)
            watcher.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watcher.wakeup.wait(), timeout=max(wait, 0.001))
    finally:
        sim.watches.release(watcher)


# --- pod logs ------------------------------------------------------------------------------------


def _since_time(request: Request) -> datetime | None:
    """`sinceTime` as the API server reads it: RFC 3339, fractional seconds allowed; lines at or after it."""
    raw = request.query_params.get("sinceTime")
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise errors.bad_request(f'invalid value for sinceTime: "{raw}"') from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def pod_log(sim: KubeSim, request: Request, t: Target) -> Response:
    assert t.name is not None
    assert t.namespace is not None
    pod = sim.store.peek(t.res, t.namespace, t.name)
    if pod is None:
        raise errors.not_found(t.res, t.name)
    containers = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    init = [c["name"] for c in (pod.get("spec") or {}).get("initContainers") or []]
    container = request.query_params.get("container")
    if not container:
        if len(containers) != 1:
            choices = " ".join(containers)
            raise errors.bad_request(
                f"a container name must be specified for pod {t.name}, choose one of: [{choices}]"
                + (f" or one of the init containers: [{' '.join(init)}]" if init else "")
            )
        container = containers[0]
    elif container not in containers + init:
        raise errors.bad_request(f"container {container} is not valid for pod {t.name}")
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    state = next((s.get("state") or {} for s in statuses if s.get("name") == container), {})
    waiting = (state.get("waiting") or {}).get("reason")
    if waiting and not sim.logs.read(t.namespace, t.name, container, tail_lines=1):
        raise errors.bad_request(f'container "{container}" in pod "{t.name}" is waiting to start: {waiting}')
    if q_bool(request, "previous"):
        restarts = next((int(s.get("restartCount", 0)) for s in statuses if s.get("name") == container), 0)
        if not restarts:
            raise errors.bad_request(
                f'previous terminated container "{container}" in pod "{t.name}" not found'
            )
    tail = q_int(request, "tailLines")
    since = q_int(request, "sinceSeconds")
    since_time = _since_time(request)
    if since is not None and since_time is not None:
        raise errors.bad_request("at most one of sinceTime or sinceSeconds may be specified")
    stamps = q_bool(request, "timestamps")
    limit_bytes = q_int(request, "limitBytes")
    if not q_bool(request, "follow"):
        lines = sim.logs.read(
            t.namespace, t.name, container, tail_lines=tail, since_seconds=since, since_time=since_time,
            timestamps=stamps,
        )  # fmt: skip
        text = "".join(line + "\n" for line in lines).encode()
        return Response(text[:limit_bytes] if limit_bytes else text, media_type="text/plain")
    uid = pod["metadata"]["uid"]
    ns, name = t.namespace, t.name

    def alive() -> bool:
        # Like the kubelet, a follow ends when the container has terminated (every line it wrote was
        # already sent: the logbook yields what it holds before asking) or the pod is gone.
        current = sim.store.peek(t.res, ns, name)
        if current is None or current["metadata"]["uid"] != uid:
            return False
        statuses = (current.get("status") or {}).get("containerStatuses") or []
        state = next((s.get("state") or {} for s in statuses if s.get("name") == container), {})
        return "terminated" not in state

    async def body() -> AsyncIterator[bytes]:
        # One write per batch of lines that were there, not one per line: a busy log stays cheap.
        async for batch in sim.logs.follow(
            ns, name, container, tail_lines=tail, since_seconds=since, since_time=since_time,
            timestamps=stamps, alive=alive,
        ):  # fmt: skip
            yield "".join(line + "\n" for line in batch).encode()

    return StreamingResponse(body(), media_type="text/plain")
