"""N WebSocket consoles in a process of their own (run by bench/realtime.py), so the load generator does
not share a GIL with kubesim and the patching loop it measures. Each client subscribes to pods in one
namespace from a stream position and records, for every event carrying a `bench/t0` annotation, now - t0.

    python bench/benchlib/wsclients.py <ws url> <token> <n> <cluster> <namespace> <since>

Prints `ready` once every client is subscribed; then reads the number of events each client should get
from stdin, waits for them (30 s at most), and prints one JSON line: latencies, received, closed early.

The clients are lean on purpose: websockets' sans-I/O protocol under a bare asyncio protocol (it still
answers the server's pings and checks every frame), and the send time found in each text frame without
decoding the pod around it. On two cores shared with the server, the asyncio client (a future and a
queue per message) cost as much CPU per message as the API did and became the bottleneck it measured."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

MARK = b'"bench/t0":"'


class Client(asyncio.Protocol):
    def __init__(self, url: str, token: str, subscribe: bytes, latencies: list[float]) -> None:
        self.ws = ClientProtocol(parse_uri(url), max_size=None)
        self.token = token
        self.subscribe = subscribe
        self.latencies = latencies
        self.subscribed = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        request = self.ws.connect()
        request.headers["Authorization"] = f"Bearer {self.token}"
        self.ws.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                self.ws.send_text(self.subscribe)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                payload = bytes(event.data)
                i = payload.find(MARK)
                if i >= 0:
                    start = i + len(MARK)
                    self.latencies.append(time.time() - float(payload[start : payload.index(b'"', start)]))
                elif not self.subscribed.done() and b'"subscribed"' in payload:
                    self.subscribed.set_result(None)
        self._flush()  # pongs, and the subscribe message after the handshake

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError("closed before subscribing"))

    def close(self) -> None:
        self.ws.send_close(1000)
        self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)
            else:
                self.transport.write_eof()


async def main(url: str, token: str, n: int, *, cluster: str, namespace: str, since: str) -> None:
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    sub = {"type": "subscribe", "id": "p", "cluster": cluster, "topic": "pods", "namespace": namespace,
           "since": since}  # fmt: skip
    subscribe = json.dumps(sub).encode()

    async def open_one() -> Client:
        _transport, client = await loop.create_connection(
            lambda: Client(url, token, subscribe, latencies), host, int(port)
        )
        await asyncio.wait_for(client.subscribed, 120)
        return client

    clients: list[Client] = []
    for start in range(0, n, 50):  # not a thousand TCP handshakes in one instant
        clients += await asyncio.gather(*(open_one() for _ in range(start, min(n, start + 50))))
    print("ready", flush=True)
    per_client = int(await asyncio.to_thread(sys.stdin.readline))
    deadline = time.monotonic() + 30
    while len(latencies) < per_client * n and time.monotonic() < deadline:  # noqa: ASYNC110 - counting
        await asyncio.sleep(0.1)
    received = len(latencies)
    # A client the server dropped (4008: too slow) is closed before we close it.
    closed_early = sum(c.closed.done() for c in clients)
    for c in clients:
        if not c.closed.done():
            c.close()
    await asyncio.wait([c.closed for c in clients], timeout=10)
    print(
        json.dumps({"latencies": latencies, "received": received, "closed_early": closed_early}), flush=True
    )


if __name__ == "__main__":
    url_, token_, n_, cluster_, namespace_, since_ = sys.argv[1:7]
    asyncio.run(main(url_, token_, int(n_), cluster=cluster_, namespace=namespace_, since=since_))
