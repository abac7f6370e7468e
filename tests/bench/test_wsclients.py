"""The load generator of bench/realtime.py (bench/benchlib/wsclients.py) parses WebSocket frames itself to
stay cheap on two shared cores; a wrong parser would make the figures it prints wrong. Frames here are
written by websockets' own serializer and server."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Frame, Opcode

sys.path.insert(0, str(Path(__file__).parents[2] / "bench" / "benchlib"))
import wsclients  # the bench's module, by path

texts = st.text(min_size=0, max_size=300).map(lambda t: t * 250 if len(t) % 7 == 0 else t)  # some > 64 KiB


def server_bytes(frames: list[Frame]) -> bytes:
    return b"".join(f.serialize(mask=False, extensions=[]) for f in frames)


@settings(max_examples=100, deadline=None)
@given(st.lists(texts, min_size=1, max_size=6), st.data())
def test_frames_in_any_chunking_come_out_whole(messages: list[str], data: st.DataObject) -> None:
    frames: list[Frame] = []
    expected: list[tuple[int, bytes]] = []
    for msg in messages:
        payload = msg.encode()
        pieces = data.draw(st.integers(1, 3))  # fragmented messages, with a ping between fragments
        cut = [payload[i * len(payload) // pieces : (i + 1) * len(payload) // pieces] for i in range(pieces)]
        for i, part in enumerate(cut):
            frames.append(Frame(Opcode.TEXT if i == 0 else Opcode.CONT, part, fin=i == pieces - 1))
            if i == 0 and pieces > 1:
                frames.append(Frame(Opcode.PING, b"hi"))
                expected.append((wsclients.OP_PING, b"hi"))
        expected.append((wsclients.OP_TEXT, payload))
    wire = server_bytes(frames)
    sizes = data.draw(st.lists(st.integers(1, 70_000), max_size=20))
    reader, got, pos = wsclients.FrameReader(), [], 0
    for size in [*sizes, len(wire)]:
        got += reader.feed(wire[pos : pos + size])
        pos += size
    assert got == expected
    assert not reader.buf


# Ids by name: the bytes differ between runs (a masked frame gets a random mask), and pytest-xdist needs
# every worker to collect the same test ids.
REFUSED = {
    "rsv1": (bytes((0xC1, 1)) + b"x", "reserved bits"),  # RSV1: compression, never negotiated
    "lone-continuation": (Frame(Opcode.CONT, b"x").serialize(mask=False, extensions=[]), "continuation"),
    "long-ping": (bytes((0x89, 126)) + (126).to_bytes(2, "big") + b"x" * 126, "control frame"),
    "fragmented-ping": (bytes((0x09, 1)) + b"x", "control frame"),
    "masked": (Frame(Opcode.TEXT, b"x").serialize(mask=True, extensions=[]), "must not mask"),
    "opcode-3": (bytes((0x83, 1)) + b"x", "unknown opcode"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_frames_a_browser_would_refuse_are_refused(case: str) -> None:
    wire, error = REFUSED[case]
    with pytest.raises(wsclients.ProtocolError, match=error):
        wsclients.FrameReader().feed(wire)


async def test_a_client_against_a_real_server() -> None:
    """Handshake, subscribe, the send time read from an event, a ping answered, a clean close."""
    got: list[str] = []
    ponged = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        got.append(str(await ws.recv()))
        await ws.send(json.dumps({"type": "subscribed", "id": "p"}))
        event = {"type": "event", "object": {"metadata": {"annotations": {"bench/t0": "1.5"}}}}
        await ws.send(json.dumps(event, separators=(",", ":")))  # compact, as the API sends it
        await asyncio.wait_for(await ws.ping(), 5)  # resolves when the client's pong arrives
        ponged.set()
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        latencies: list[float] = []
        loop = asyncio.get_running_loop()
        url = f"ws://127.0.0.1:{port}/api/v1/ws"
        _, client = await loop.create_connection(
            lambda: wsclients.Client(url, "tok", b'{"type":"subscribe"}', latencies), "127.0.0.1", port
        )
        await asyncio.wait_for(client.subscribed, 5)
        await asyncio.wait_for(ponged.wait(), 5)  # the pong left after the event was read
        client.close()
        assert await asyncio.wait_for(client.closed, 5) is None
    assert got == ['{"type":"subscribe"}']
    assert client.errors == []
    assert latencies[0] > 1e9  # now - 1.5 s after the epoch
