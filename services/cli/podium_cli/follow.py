"""Following an operation: the WebSocket's `operations` topic says *when* to look, the REST API says
*what* is true. Each relevant event triggers a `GET /operations/{id}`; a periodic re-read covers events a
reconnecting or lagging socket could miss; with no WebSocket (an HTTP-only proxy, an older server) it
falls back to polling. So the answer never depends on the event stream being complete."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from podium_cli.client import API_PREFIX, Connection

# With a live socket the re-read is a safety net only, so it can be rare.
SAFETY_REREAD_SECONDS = 5.0
OPEN_TIMEOUT = 5.0


def ws_url(conn: Connection) -> str:
    return conn.server.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + API_PREFIX + "/ws"


def open_socket(conn: Connection) -> ClientConnection:
    """Opens `/api/v1/ws` authenticated with the CLI's token. Raises OSError, WebSocketException or
    TimeoutError when the server cannot be reached or offers no WebSocket; callers decide what that means
    (operation following falls back to polling, `podium get --watch` reconnects)."""
    headers = {"Authorization": f"Bearer {conn.token}"} if conn.token else None
    return connect(
        ws_url(conn), additional_headers=headers, open_timeout=OPEN_TIMEOUT, max_size=2**26, proxy=None
    )


@contextmanager
def operation_events(conn: Connection, cluster: str) -> Iterator[OperationEvents | None]:
    """Subscribes to the cluster's operation events; yields None when the server offers no WebSocket."""
    with ExitStack() as stack:
        ws: ClientConnection | None = None
        with contextlib.suppress(OSError, WebSocketException, TimeoutError):
            ws = stack.enter_context(open_socket(conn))
        if ws is None:
            yield None
            return
        events = OperationEvents(ws)
        yield events if events.subscribe(cluster) else None


class OperationEvents:
    """A subscription to one cluster's operation events; `wait(op_id, seconds)` returns True as soon as
    an event about that operation (or one of its bulk children) arrives, False when the time is up."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.alive = True

    def subscribe(self, cluster: str) -> bool:
        self._ws.send(
            json.dumps({"type": "subscribe", "id": "op", "cluster": cluster, "topic": "operations"})
        )
        deadline = time.monotonic() + OPEN_TIMEOUT
        while self.alive and time.monotonic() < deadline:
            message = self._recv(deadline - time.monotonic())
            if message is None:
                continue
            if message.get("type") == "error":
                return False
            if message.get("type") == "subscribed":
                return True
        return False

    def wait(self, op_id: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.alive:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            message = self._recv(remaining)
            if message is None:
                continue
            kind = message.get("type")
            if kind in ("resync", "error"):
                return True  # something may have been missed: look now
            obj = message.get("object") if kind == "event" else None
            if isinstance(obj, dict) and op_id in (str(obj.get("id")), str(obj.get("parent_id"))):
                return True
        return False

    def _recv(self, timeout: float) -> dict[str, Any] | None:
        try:
            raw = self._ws.recv(timeout=max(timeout, 0.001))
        except TimeoutError:
            return None
        except WebSocketException:
            self.alive = False  # the caller goes on polling
            return None
        with contextlib.suppress(ValueError):
            message = json.loads(raw)
            if isinstance(message, dict):
                return message
        return None
