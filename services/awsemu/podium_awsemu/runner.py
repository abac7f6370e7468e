"""Start the emulator as a child process on a free port (tests, benchmarks) and stop it again."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningEmulator:
    def __init__(self, speed: float = 1.0, seed: dict[str, Any] | str | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.speed = speed
        self._seed = seed
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="awsemu-")
        self.log_path = Path(self._tmp.name) / "awsemu.log"
        self.admin = httpx.Client(base_url=self.url, timeout=30.0)

    def start(self) -> RunningEmulator:
        seed_arg = "none"
        if isinstance(self._seed, str):
            seed_arg = self._seed
        elif self._seed is not None:
            path = Path(self._tmp.name) / "seed.json"
            path.write_text(json.dumps(self._seed))
            seed_arg = str(path)
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(  # noqa: S603 - fixed program and arguments
            [sys.executable, "-m", "podium_awsemu", "--port", str(self.port), "--speed", str(self.speed),
             "--seed", seed_arg],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 180  # a loaded machine imports moto slowly
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self.log_path.read_text()[-2000:]
                self.stop()
                raise RuntimeError(f"the AWS emulator exited: {tail}")
            # Ready means seeded too: the line is printed after the seed is applied.
            if b"serving emulated AWS" in self.log_path.read_bytes():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the AWS emulator did not start within 180 s")

    def stop(self) -> None:
        self.admin.close()
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(5)
        self._tmp.cleanup()

    # Admin helpers (HTTP to /_emu/).
    def fault(self, **rule: Any) -> int:
        r = self.admin.post("/_emu/faults", json=rule)
        r.raise_for_status()
        return int(r.json()["ids"][0])

    def faults(self) -> list[dict[str, Any]]:
        return list(self.admin.get("/_emu/faults").json()["rules"])

    def clear_faults(self) -> None:
        self.admin.delete("/_emu/faults").raise_for_status()

    def requests(self) -> dict[str, int]:
        return dict(self.admin.get("/_emu/requests").json()["requests"])

    def seed(self, doc: dict[str, Any]) -> dict[str, int]:
        r = self.admin.post("/_emu/seed", json=doc)
        r.raise_for_status()
        return dict(r.json())

    def settle(self) -> None:
        self.admin.post("/_emu/settle").raise_for_status()

    def set_unavailable(self, instance_types: list[str]) -> None:
        self.admin.post("/_emu/unavailable-instance-types", json={"instance_types": instance_types})

    def __enter__(self) -> RunningEmulator:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
