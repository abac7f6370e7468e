"""An ASGI app served by uvicorn on a real port, for tests that talk to it over HTTP (the CLI's tests)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from podium_shared.embedded import free_port

from support.waiting import wait_until


@contextmanager
def serve(app: Any, *, timeout: float = 15.0) -> Iterator[str]:
    """Yield the base URL of `app` served in a daemon thread; stop the server on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()

    def started() -> bool:
        assert thread.is_alive(), "uvicorn exited during start-up"
        return bool(server.started)

    wait_until(started, timeout, "uvicorn to start", interval=0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
