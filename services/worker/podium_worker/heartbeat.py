"""The worker's heartbeat in Redis: `/readyz` needs at least one live worker key to report ready."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import UTC, datetime

from podium_shared.realtime.keys import heartbeat_prefix
from redis import Redis

log = logging.getLogger(__name__)

KEY_PREFIX = heartbeat_prefix("worker")
TTL_SECONDS = 30


def heartbeat_key() -> str:
    return f"{KEY_PREFIX}{socket.gethostname()}-{os.getpid()}"


class Heartbeat:
    """SET key EX 30 every `interval` seconds until stopped; the key is deleted on a clean stop."""

    def __init__(self, redis_url: str, interval: float) -> None:
        self.key = heartbeat_key()
        self._redis = Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="podium-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._beat()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self._redis.delete(self.key)
        except Exception:
            log.debug("could not delete heartbeat key", exc_info=True)
        finally:
            self._redis.close()

    def _beat(self) -> None:
        try:
            self._redis.set(self.key, datetime.now(UTC).isoformat(), ex=TTL_SECONDS)
        except Exception:
            # Redis restarting: the next beat sets it again; a missing beat just makes /readyz wait.
            log.warning("heartbeat to Redis failed", exc_info=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._beat()
