"""Child processes of `podium up`: started in their own process group, stopped group-wide.

Each child gets its own session so a Ctrl-C at the terminal reaches only the supervisor, which then stops
the children in order; stopping the whole group also takes down what a child forked (Celery's pool)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


@dataclass
class Child:
    name: str
    args: list[str]  # arguments of `python -m podium_cli`
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> Child:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        # Fixed program (this interpreter running podium_cli) with arguments built by `podium up` itself.
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "podium_cli", *self.args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - the supervisor starts no threads of its own
        )
        return self

    @property
    def exit_code(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self, timeout: float = 20.0) -> None:
        proc = self.proc
        if proc is not None:
            pgid = proc.pid  # start_new_session made the child its group's leader
            _signal_group(pgid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(pgid, signal.SIGKILL)
                proc.wait()
            # Anything the child forked and left behind goes with it.
            _wait_group_gone(pgid, timeout=5.0)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            with self.log_path.open("rb") as f:
                tail = deque(f, maxlen=lines)
        except OSError:
            return ""
        return b"".join(tail).decode(errors="replace")


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM it when the supervisor dies, even by SIGKILL, so a
    killed `podium up` leaves no API or worker running on its own. A no-op where prctl is unavailable."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_group_gone(pgid: int, timeout: float) -> None:
    """Waits for the group to empty; SIGKILLs stragglers once, then gives up (a zombie whose parent
    never reaps it would otherwise keep us here forever)."""
    killed = False
    deadline = time.monotonic() + timeout
    while _group_alive(pgid):
        if time.monotonic() >= deadline:
            if killed:
                return
            _signal_group(pgid, signal.SIGKILL)
            killed = True
            deadline = time.monotonic() + timeout
        time.sleep(0.05)
