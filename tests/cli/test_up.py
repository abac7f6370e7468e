"""`podium up` end to end, as a person runs it: a subprocess on an empty data directory brings up
Postgres, Redis, emulated AWS, kubesim (HTTPS, following the emulated node groups), the API, a worker and
the watcher; `local` is registered by its EKS name, and a label command submitted through the CLI reaches
the simulated cluster that way; scaling the emulated node group grows the cluster; Ctrl-C stops everything
and leaves no process behind; a second run on the same data directory keeps the data and the admin token."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import httpx
import pytest
from podium_shared.embedded import free_port
from support.waiting import wait_until

pytestmark = pytest.mark.kubectl

ADMIN_TOKEN = "up-test-admin-token-0123456789"
START_TIMEOUT = 240.0


class Up:
    """A running `podium up` whose output is collected line by line."""

    def __init__(self, data_dir: Path, port: int, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "podium_cli", "up", "--data-dir", str(data_dir), "--port", str(port),
             "--speed", "20"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if match := regex.search(line):
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.proc.poll() is not None:
                    pytest.fail(f"no line matching {pattern!r}; output:\n" + "\n".join(self.lines))
                self._changed.wait(min(remaining, 0.5))

    def descendants(self, *, direct: bool = False) -> set[int]:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        if direct:
            return {pid for pid, ppid in parents.items() if ppid == self.proc.pid}
        found, frontier = set(), {self.proc.pid}
        while frontier:
            children = {pid for pid, ppid in parents.items() if ppid in frontier}
            found |= children
            frontier = children
        return found

    def interrupt(self, timeout: float = 90.0) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """After a failed assertion: stop it the orderly way first, so no child outlives the test."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(10)  # it closes the pipe at end of output


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def podium_command(pid: int) -> str | None:
    """`worker` for `python -m podium_cli worker ...`, None for any other process."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if b"podium_cli" in argv and argv.index(b"podium_cli") + 1 < len(argv):
        return argv[argv.index(b"podium_cli") + 1].decode()
    return None


def cli(url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PODIUM_URL": url, "PODIUM_TOKEN": token}
    return subprocess.run([sys.executable, "-m", "podium_cli", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


# Two whole-system start-ups (Postgres, Redis, MLflow, emulated AWS, kubesim, API, worker, watcher) and
# stops: on a shared 2-core machine that alone can pass the suite's 300 s per-test default.
@pytest.mark.timeout(900)
def test_up_runs_the_whole_system_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    env = {**os.environ, "PODIUM_BOOTSTRAP_ADMIN_TOKEN": ADMIN_TOKEN}
    up = Up(data_dir, port, env)
    try:
        url = up.wait_for(r"API:\s+(http://\S+?)/api/v1 \(docs: ").group(1)
        assert url == f"http://127.0.0.1:{port}"
        assert up.wait_for(r"Admin token:\s+(\S+)").group(1) == ADMIN_TOKEN
        assert up.wait_for(r"Console:\s+(\S+)").group(1) == url + "/"
        assert up.wait_for(r"Admin login:\s+(\S+)").group(1) == "admin"
        password = up.wait_for(r"Admin password:\s+(\S+)").group(1)
        assert httpx.get(url + "/readyz", timeout=5).status_code == 200
        # The embedded MLflow tracking server (MLFLOW_TRACKING_URI was not set): named in the banner, then
        # healthy (its start-up does not hold the API back).
        mlflow_url = up.wait_for(r"MLflow:\s+(http://\S+)").group(1)
        assert up.wait_for(r"mlflow ready at (http://\S+)").group(1) == mlflow_url
        assert httpx.get(mlflow_url + "/health", timeout=5).status_code == 200
        # The printed address and login work: `/` is the console, and the password signs in.
        assert httpx.get(url + "/", timeout=5).status_code == 200
        signed_in = httpx.post(url + "/api/v1/auth/login", json={"username": "admin", "password": password})
        assert signed_in.status_code == 200, signed_in.text
        password_file = data_dir / "admin-password"
        assert password_file.read_text().strip() == password
        assert password_file.stat().st_mode & 0o077 == 0
        token_file = data_dir / "admin-token"
        assert token_file.read_text().strip() == ADMIN_TOKEN
        assert token_file.stat().st_mode & 0o077 == 0

        labelled = cli(url, ADMIN_TOKEN, "command", "label", "--cluster", "local", "-p", "kind=Namespace",
                       "-p", "name=default", "-p", "labels.podium-up-test=yes", "--wait", "--timeout", "90",
                       "-o", "json")  # fmt: skip
        assert labelled.returncode == 0, labelled.stdout + labelled.stderr
        op = json.loads(labelled.stdout)
        assert op["status"] == "succeeded"
        # The change is in the cluster, seen through the kubeconfig `podium up` wrote for kubectl.
        kubectl_env = {
            "KUBECONFIG": str(data_dir / "kubeconfig"),
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
        }
        got = subprocess.run(
            ["kubectl", "get", "namespace", "default", "-o", "jsonpath={.metadata.labels.podium-up-test}"],
            env=kubectl_env, capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        assert got.stdout == "yes"
        # That command went the by-EKS-name way: `local` has no kubeconfig, only its EKS name and region.
        clusters = httpx.get(
            url + "/api/v1/clusters", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ).json()
        (local,) = [c for c in clusters if c["name"] == "local"]
        assert (local["eks_cluster_name"], local["region"], local["context"]) == ("local", "us-west-2", None)

        # Scaling the emulated node group grows the simulated cluster (kubesim's cloud controller).
        def system_nodes() -> int:
            listed = subprocess.run(
                ["kubectl", "get", "nodes", "-l", "eks.amazonaws.com/nodegroup=system-cpu", "-o", "name"],
                env=kubectl_env, capture_output=True, text=True, timeout=30, check=True,
            )  # fmt: skip
            return len(listed.stdout.split())

        assert system_nodes() == 2
        endpoint = up.wait_for(r"AWS \(emulated\):\s+AWS_ENDPOINT_URL=(\S+)").group(1)
        eks = boto3.client("eks", endpoint_url=endpoint, region_name="us-west-2", aws_access_key_id="x",
                           aws_secret_access_key="x")  # fmt: skip
        eks.update_nodegroup_config(clusterName="local", nodegroupName="system-cpu",
                                    scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 3})  # fmt: skip
        wait_until(lambda: system_nodes() == 3, 60, "a third system-cpu node", interval=0.5)

        children = up.descendants()
        # postgres, redis, mlflow, awsemu, kubesim, api, worker, watcher (and their own children)
        assert len(children) >= 8
        assert up.interrupt() == 0, "\n".join(up.lines)
        assert "podium up: stopped" in up.lines
        wait_until(
            lambda: not any(alive(pid) for pid in children),
            10,
            "every child to exit (processes left behind)",
            interval=0.1,
        )
        assert not [pid for pid in children if alive(pid)], "processes left behind"
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/healthz", timeout=2)
    finally:
        up.kill()

    # Second run on the same data directory, without the bootstrap variable: same data, same token.
    # A configured MLflow tracking URI skips the embedded server (and its start-up time).
    env.pop("PODIUM_BOOTSTRAP_ADMIN_TOKEN")
    env["MLFLOW_TRACKING_URI"] = f"http://127.0.0.1:{free_port()}"
    port = free_port()
    again = Up(data_dir, port, env)
    try:
        url = again.wait_for(r"API:\s+(http://\S+?)/api/v1 \(docs: ").group(1)
        assert again.wait_for(r"Admin token:\s+(\S+)").group(1) == ADMIN_TOKEN
        assert again.wait_for(r"MLflow:\s+(\S+)").group(1) == env["MLFLOW_TRACKING_URI"]
        assert "podium up: starting mlflow" not in again.lines
        assert again.wait_for(r"Admin password:\s+(\S+)").group(1) == password
        got_op = cli(url, ADMIN_TOKEN, "ops", "get", op["id"], "-o", "json")
        assert got_op.returncode == 0, got_op.stderr
        assert json.loads(got_op.stdout)["status"] == "succeeded"
        assert again.interrupt() == 0, "\n".join(again.lines)
    finally:
        again.kill()


def test_up_reports_a_dead_child_and_shuts_down(tmp_path: Path) -> None:
    env = {**os.environ, "PODIUM_BOOTSTRAP_ADMIN_TOKEN": ADMIN_TOKEN}
    env["MLFLOW_TRACKING_URI"] = f"http://127.0.0.1:{free_port()}"  # no embedded MLflow: faster
    up = Up(tmp_path / "data", free_port(), env)
    try:
        up.wait_for(r"API:\s+http://")
        # The supervisor's own child: Celery's embedded beat is a forked process with the same command line.
        worker = next(pid for pid in up.descendants(direct=True) if podium_command(pid) == "worker")
        os.kill(worker, signal.SIGKILL)
        up.wait_for(r"worker exited with code -9", timeout=30)
        assert up.proc.wait(90) == 1
        assert "podium up: stopped" in up.lines
    finally:
        up.kill()
