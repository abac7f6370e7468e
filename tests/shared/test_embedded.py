"""Embedded servers started by `podium up` die with it, even when it is killed with SIGKILL."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from support.waiting import wait_until

# A stand-in for `podium up`: starts the servers with die_with_parent, prints their ports, then waits.
_PARENT = """
import sys, time
from pathlib import Path
from podium_shared.embedded import EmbeddedPostgres, EmbeddedRedis
base = Path(sys.argv[1])
pg = EmbeddedPostgres(base / "pg", die_with_parent=True).start()
redis = EmbeddedRedis(base / "redis", die_with_parent=True).start()
print(pg.port, redis.port, flush=True)
time.sleep(600)
"""


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2):
            return True
    except OSError:
        return False


def test_servers_stop_when_their_starter_is_killed(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(tmp_path)], stdout=subprocess.PIPE, text=True
    ) as parent:
        try:
            assert parent.stdout is not None
            pg_port, redis_port = (int(p) for p in parent.stdout.readline().split())
            assert _listening(pg_port)
            assert _listening(redis_port)
        finally:
            parent.send_signal(signal.SIGKILL)
            parent.wait(10)
    wait_until(lambda: not _listening(redis_port), 20, "redis to stop")
    wait_until(lambda: not _listening(pg_port), 30, "postgres to stop")
