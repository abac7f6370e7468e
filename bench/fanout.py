"""The WebSocket fan-out's own CPU, without sockets: N clients subscribed alike, E pod events dispatched
through the hub's live path (`ClusterFeed.dispatch` → `Subscription.message`, then either the client's
outbox → the session's sender → a transport that only counts, or, as under uvicorn, the frame written
"directly" to a socket stand-in that only counts: `ClientConn.direct`). Prints µs of CPU per delivery
for each path. Asserts nothing.

    .venv/bin/python bench/fanout.py [--clients 1000] [--events 200]

Everything the socket adds (framing, the kernel) is left out on purpose: that part is uvicorn's and is
measured end to end by bench/realtime.py; this script isolates what Podium's code costs per delivery, so
a change to it shows even on a machine too loaded for latency figures to mean much."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

from podium_shared.auth.principal import Principal
from podium_shared.models.user import Role
from podium_shared.realtime import session
from podium_shared.realtime.hub import ClientConn, ClusterFeed, HubTuning
from podium_shared.realtime.stream import StreamEvent
from podium_shared.realtime.subscription import Subscription


class CountingTransport:
    def __init__(self) -> None:
        self.sent = 0
        self.closed = asyncio.Event()

    async def send_text(self, data: str) -> None:
        self.sent += 1

    async def receive_text(self) -> str:
        await self.closed.wait()
        raise ConnectionError("closed")

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed.set()


def pod_event(i: int) -> StreamEvent:
    obj: dict[str, Any] = {
        "kind": "Pod",
        "metadata": {"name": "lat-pod", "namespace": "lat", "resourceVersion": str(i), "uid": "u",
                     "labels": {"app": "bench"}, "annotations": {"bench/t0": repr(time.time())}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "x" * 40}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}] * 4},
    }  # fmt: skip
    text = json.dumps({"id": f"{1_800_000_000_000 + i}-0", "cluster": "bench", "topic": "pods",
                       "event": "MODIFIED", "object": obj}, separators=(",", ":"))  # fmt: skip
    return StreamEvent.from_published(text)


class CountingSocket:
    """`ClientConn.direct` as the API's frame writer sets it, minus the socket: counts frames."""

    def __init__(self) -> None:
        self.sent = 0

    def write(self, frame: bytes) -> bool:
        self.sent += 1
        return True


async def run(clients: int, events: int, *, direct: bool) -> tuple[float, int]:
    principal = Principal(username="bench", role=Role.viewer, namespaces=None)
    tuning = HubTuning(client_queue=events + 10)
    feed = ClusterFeed.__new__(ClusterFeed)  # the dispatch path only: no Redis reader
    feed.subs, feed.last_id, feed.cluster = {}, None, "bench"
    feed.hub = type("H", (), {"tuning": tuning})()  # type: ignore[assignment]
    transports: list[CountingTransport] = []
    sockets: list[CountingSocket] = []
    conns = []
    for _ in range(clients):
        conn = ClientConn(principal, tuning)
        sub = Subscription.create("p", "bench", "pods", principal, "lat")
        sub.pending = None
        conn.subs["p"] = sub
        feed.subs[id(sub)] = (conn, sub)
        t = CountingTransport()
        transports.append(t)
        conns.append(asyncio.create_task(session._sender(t, conn)))  # the session's real sender
        if direct:
            sock = CountingSocket()
            conn.direct = sock.write
            sockets.append(sock)
    evs = [pod_event(i) for i in range(events)]
    cpu0 = time.process_time()
    for ev in evs:
        feed.dispatch(ev)
        await asyncio.sleep(0)  # let the senders run, as the event loop would between pub/sub messages
    while sum(t.sent for t in [*transports, *sockets]) < clients * events:  # noqa: ASYNC110 - counting
        await asyncio.sleep(0)
    cpu = time.process_time() - cpu0
    for task in conns:
        task.cancel()
    await asyncio.gather(*conns, return_exceptions=True)
    return cpu, sum(t.sent for t in [*transports, *sockets])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--events", type=int, default=200)
    args = ap.parse_args()
    for direct in (False, True):
        cpu, delivered = asyncio.run(run(args.clients, args.events, direct=direct))
        path = "direct frame writes" if direct else "queued (outbox → sender)"
        print(
            f"fan-out without sockets, {path}: {delivered} deliveries ({args.clients} clients x "
            f"{args.events} events) in {cpu:.2f} s CPU = {cpu / delivered * 1e6:.1f} µs per delivery; "
            f"load average {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
