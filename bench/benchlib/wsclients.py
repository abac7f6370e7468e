"""N WebSocket consoles in a process of their own (run by bench/realtime.py), so the load generator does
not share a GIL with kubesim and the patching loop it measures. Each client subscribes to pods in one
namespace from a stream position and records, for every event carrying a `bench/t0` annotation, now - t0.

    python bench/benchlib/wsclients.py <ws url> <token> <n> <cluster> <namespace> <since>

Prints `ready` once every client is subscribed; then reads the number of events each client should get
from stdin, waits for them (30 s at most), and prints one JSON line: latencies, received, closed early.

The clients are lean on purpose, because on two cores they compete with the server they measure: a bare
protocol on uvloop, the RFC 6455 client handshake and frame reader written out here (`FrameReader`). It
still checks what a browser would: the handshake's 101 and Sec-WebSocket-Accept, that server frames are
unmasked and use no extension bits, that every text message is valid UTF-8; it answers pings and closes.
The send time is found in each text frame without decoding the pod around it. The asyncio client (a
future and a queue per message) cost as much CPU per message as the API; websockets' sans-I/O parser
under asyncio's selector loop still cost ~1.5 times the API's CPU per message (docs/performance.md)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import struct
import sys
import time
from urllib.parse import urlsplit

import uvloop
from websockets.frames import apply_mask  # type: ignore[attr-defined]  # the C speedup when built

MARK = b'"bench/t0":"'
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class ProtocolError(Exception):
    pass


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A final frame from a client: always masked (RFC 6455 §5.3)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + mask + apply_mask(payload, mask)


class FrameReader:
    """Server → client frames (RFC 6455 §5.2), reassembling fragmented messages."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.fragments: list[bytes] | None = None
        self.fragment_op = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Complete messages and control frames in `data` (with what was buffered), as (opcode, payload)."""
        buf = self.buf
        buf += data
        out: list[tuple[int, bytes]] = []
        pos, end = 0, len(buf)
        while end - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            if b0 & 0x70:
                raise ProtocolError("reserved bits set: no extension was negotiated")
            if b1 & 0x80:
                raise ProtocolError("a server must not mask its frames")
            n, head = b1 & 0x7F, 2
            if n == 126:
                if end - pos < 4:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif n == 127:
                if end - pos < 10:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if end - pos < head + n:
                break
            payload = bytes(buf[pos + head : pos + head + n])
            pos += head + n
            self._frame(b0 & 0x80, b0 & 0x0F, payload, out)
        del buf[:pos]
        return out

    def _frame(self, fin: int, opcode: int, payload: bytes, out: list[tuple[int, bytes]]) -> None:
        if opcode >= OP_CLOSE:  # control frames: never fragmented, may arrive between fragments
            if not fin or len(payload) > 125:
                raise ProtocolError("bad control frame")
            out.append((opcode, payload))
        elif opcode == OP_CONT:
            if self.fragments is None:
                raise ProtocolError("continuation without a message")
            self.fragments.append(payload)
            if fin:
                out.append((self.fragment_op, b"".join(self.fragments)))
                self.fragments = None
        elif opcode in (OP_TEXT, OP_BINARY):
            if self.fragments is not None:
                raise ProtocolError("a new message inside a fragmented one")
            if fin:
                out.append((opcode, payload))
            else:
                self.fragments, self.fragment_op = [payload], opcode
        else:
            raise ProtocolError(f"unknown opcode {opcode}")


class Client(asyncio.Protocol):
    def __init__(self, url: str, token: str, subscribe: bytes, latencies: list[float]) -> None:
        self.url = urlsplit(url)
        self.token = token
        self.subscribe = subscribe
        self.latencies = latencies
        loop = asyncio.get_running_loop()
        self.subscribed = loop.create_future()
        self.closed = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.key = base64.b64encode(os.urandom(16))
        self.response = bytearray()  # the handshake's response until its blank line
        self.reader: FrameReader | None = None
        self.errors: list[str] = []
        self.closing = False  # a close frame went out

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport
        self.transport.write(
            f"GET {self.url.path or '/'} HTTP/1.1\r\nHost: {self.url.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key.decode()}\r\n"
            f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {self.token}\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        try:
            if self.reader is None:
                data = self._handshake(data)
                if self.reader is None:
                    return
            for opcode, payload in self.reader.feed(data):
                self._message(opcode, payload)
        except (ProtocolError, UnicodeDecodeError) as exc:
            self.errors.append(repr(exc))
            assert self.transport is not None
            self.transport.abort()

    def _handshake(self, data: bytes) -> bytes:
        self.response += data
        end = self.response.find(b"\r\n\r\n")
        if end < 0:
            return b""
        head, rest = bytes(self.response[:end]).decode("latin-1"), bytes(self.response[end + 4 :])
        lines = head.split("\r\n")
        if lines[0].split(" ", 2)[1:2] != ["101"]:
            raise ProtocolError(f"handshake refused: {lines[0]}")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        accept = base64.b64encode(hashlib.sha1(self.key + GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            raise ProtocolError("wrong Sec-WebSocket-Accept")
        if headers.get("sec-websocket-extensions"):
            raise ProtocolError("the server negotiated an extension the client did not offer")
        self.reader = FrameReader()
        assert self.transport is not None
        self.transport.write(client_frame(OP_TEXT, self.subscribe))
        return rest

    def _message(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None
        if opcode == OP_TEXT:
            payload.decode()  # a text message must be UTF-8 (raises UnicodeDecodeError)
            i = payload.find(MARK)
            if i >= 0:
                start = i + len(MARK)
                self.latencies.append(time.time() - float(payload[start : payload.index(b'"', start)]))
            elif not self.subscribed.done() and b'"subscribed"' in payload:
                self.subscribed.set_result(None)
        elif opcode == OP_PING:
            self.transport.write(client_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:  # echo the code unless this side started the closing handshake
            if not self.closing:
                self.closing = True
                self.transport.write(client_frame(OP_CLOSE, payload[:2]))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError(f"closed before subscribing {self.errors}"))

    def close(self) -> None:
        assert self.transport is not None
        self.closing = True
        self.transport.write(client_frame(OP_CLOSE, (1000).to_bytes(2, "big")))


async def main(url: str, token: str, n: int, *, cluster: str, namespace: str, since: str) -> None:
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    sub = {"type": "subscribe", "id": "p", "cluster": cluster, "topic": "pods", "namespace": namespace,
           "since": since}  # fmt: skip
    subscribe = json.dumps(sub).encode()

    async def open_one() -> Client:
        _transport, client = await loop.create_connection(
            lambda: Client(url, token, subscribe, latencies), parts.hostname or "127.0.0.1", parts.port or 80
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
    errors = [e for c in clients for e in c.errors]
    for c in clients:
        if not c.closed.done():
            c.close()
    await asyncio.wait([c.closed for c in clients], timeout=10)
    print(
        json.dumps({"latencies": latencies, "received": received, "closed_early": closed_early,
                    "protocol_errors": errors[:10]}),
        flush=True,
    )  # fmt: skip


if __name__ == "__main__":
    url_, token_, n_, cluster_, namespace_, since_ = sys.argv[1:7]
    uvloop.run(main(url_, token_, int(n_), cluster=cluster_, namespace=namespace_, since=since_))
