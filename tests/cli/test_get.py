"""`podium get` and `podium status` end to end: kubesim over HTTP, the watcher writing the snapshot to a
real Redis, the real API on a real port, and the CLI in-process (lists) or as a subprocess (`--watch`,
read line by line until the expected change appears, then interrupted like a person would)."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from api.fixtures import ApiUser
from kubernetes import client
from podium_cli.client import ApiClient, Connection, ExitCode
from podium_cli.commands.get import Kind, Printer, Query, RowContext, Watch
from podium_cli.main import app as podium_app
from podium_cli.output import OutputFormat
from support.tcp_proxy import TcpProxy
from support.waiting import wait_until
from typer.testing import CliRunner, Result
from watcher.realtime_fixtures import *  # noqa: F403 - kubesim, watchers, served_api … fixtures
from watcher.realtime_fixtures import ServedApi, Watchers

NS = "podium"
Podium = Callable[..., Result]


def deployment(name: str, replicas: int, labels: dict[str, str]) -> Any:  # the client takes plain dicts
    return {
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, **labels}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
            },
        },
    }


@pytest.fixture
def podium(served_api: ServedApi, admin: ApiUser, tmp_path: Path) -> Podium:
    env = {"PODIUM_URL": served_api.url, "PODIUM_TOKEN": admin.token,
           "PODIUM_CONFIG": str(tmp_path / "podium-config.json")}  # fmt: skip

    def run(*args: str) -> Result:
        return CliRunner().invoke(podium_app, list(args), env=env)

    return run


def listed(podium: Podium, *args: str) -> dict[str, Any]:
    result = podium("get", *args, "-o", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_lists_in_three_formats_with_selectors_and_pages(
    podium: Podium, watchers: Watchers, kube: client.ApiClient
) -> None:
    cluster = watchers.cluster
    watchers.start("w1")
    apps = client.AppsV1Api(kube)
    apps.create_namespaced_deployment(NS, deployment("web", 2, {"tier": "front"}))
    apps.create_namespaced_deployment(NS, deployment("qwen-pool", 1, {"deployment-type": "model-pool",
                                                                      "model": "qwen"}))  # fmt: skip
    base = ("--cluster", cluster, "-n", NS)

    def pods_running() -> bool:
        items = listed(podium, "pods", *base)["items"]
        return len(items) == 3 and all(i["summary"]["phase"] == "Running" for i in items)

    wait_until(pods_running, 30, "3 running pods in the snapshot")

    table = podium("get", "pods", *base)
    assert table.exit_code == 0, table.output
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["NAMESPACE", "NAME", "READY", "STATUS", "NODE", "AGE"]
    assert len(rows) == 3
    assert all(row.split()[0] == NS and row.split()[3] == "Running" for row in rows)

    # Label and field selectors; --limit 1 still reads every page.
    web = listed(podium, "pods", *base, "-l", "app=web", "--limit", "1")
    assert web["total"] == 2
    assert {i["labels"]["app"] for i in web["items"]} == {"web"}
    one = web["items"][0]["name"]
    by_name = listed(podium, "pods", *base, "--field-selector", f"metadata.name={one}")
    assert [i["name"] for i in by_name["items"]] == [one]
    assert listed(podium, "pods", *base, "-l", "app=nothing")["items"] == []
    assert listed(podium, "pods", "--cluster", cluster, "-A", "-l", "app=web")["total"] == 2

    as_yaml = podium("get", "deployments", *base, "-o", "yaml")
    assert as_yaml.exit_code == 0, as_yaml.output
    assert sorted(i["name"] for i in yaml.safe_load(as_yaml.stdout)["items"]) == ["qwen-pool", "web"]
    deps = podium("get", "deployments", *base)
    lines = {line.split()[1]: line.split() for line in deps.stdout.splitlines()[1:]}
    assert lines["qwen-pool"][2:5] == ["pool", "1/1", "qwen"]
    assert lines["web"][2:5] == ["standard", "2/2", "-"]

    nodes = podium("get", "nodes", "--cluster", cluster)
    assert nodes.exit_code == 0, nodes.output
    node_header, *node_rows = nodes.stdout.splitlines()
    assert node_header.split()[:5] == ["NAME", "STATUS", "INSTANCE-TYPE", "NODE-GROUP", "GPU(ALLOC/FREE)"]
    status = json.loads(podium("status", "--cluster", cluster, "-o", "json").stdout)
    assert len(node_rows) == len(status["nodes"]) > 0
    first = status["nodes"][0]
    row = next(r.split() for r in node_rows if r.split()[0] == first["name"])
    assert row[4] == f"{first['gpu_allocatable']}/{first['gpu_free']}"

    status_table = podium("status", "--cluster", cluster)
    assert status_table.exit_code == 0, status_table.output
    assert status_table.stdout.splitlines()[0].split()[:2] == ["NODE", "STATUS"]
    assert status_table.stdout.splitlines()[-1].startswith("TOTAL")
    assert "snapshot age" in status_table.stderr

    for args in (("get", "pods", "--cluster", "no-such-cluster"), ("status", "--cluster", "no-such-cluster")):
        missing = podium(*args)
        assert missing.exit_code == ExitCode.not_found, missing.output
    bad = podium("get", "pods", "--cluster", cluster, "-l", "a in (")
    assert bad.exit_code == ExitCode.usage


class Lines:
    """A subprocess's stdout, line by line, readable with a deadline."""

    def __init__(self, proc: subprocess.Popen[str], stderr: Path) -> None:
        self.proc = proc
        self.stderr = stderr
        self.seen: list[str] = []
        self._q: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._q.put(line.rstrip("\n"))

    # Generous: a `podium` process imports the Kubernetes client and typer before its first line, which
    # takes tens of seconds of wall time on a 2-core machine shared with other test workers.
    def wait_for(self, pattern: str, timeout: float = 90) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._q.get(timeout=remaining)
            except queue.Empty:
                break
            self.seen.append(line)
            if regex.search(line):
                return line
        raise AssertionError(
            f"no line matching {pattern!r} in {timeout}s; stdout:\n" + "\n".join(self.seen)
            + "\nstderr:\n" + self.stderr.read_text()
        )  # fmt: skip


# `python -m podium_cli`, with Ctrl-C delivered as at a terminal. A process inherits an ignored SIGINT (a
# suite started in the background by a non-interactive shell ignores it, and so does everything it starts),
# and Python then leaves it ignored: the CLI would be right to stay deaf, and the test would measure how the
# suite was launched.
_AS_AT_A_TERMINAL = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('podium_cli', run_name='__main__', alter_sys=True)"
)


@pytest.fixture
def watch_cli(served_api: ServedApi, admin: ApiUser, tmp_path: Path) -> Iterator[Callable[..., Lines]]:
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> Lines:
        env = {**os.environ, "PODIUM_URL": served_api.url, "PODIUM_TOKEN": admin.token,
               "PODIUM_CONFIG": str(tmp_path / "podium-config.json"), "PYTHONUNBUFFERED": "1"}  # fmt: skip
        stderr = tmp_path / f"stderr-{len(procs)}.txt"
        with stderr.open("w") as err:
            proc = subprocess.Popen([sys.executable, "-c", _AS_AT_A_TERMINAL, *args], env=env, text=True,
                                    stdout=subprocess.PIPE, stderr=err)  # fmt: skip
        procs.append(proc)
        return Lines(proc, stderr)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_watch_prints_each_change_and_exits_0_on_ctrl_c(
    watch_cli: Callable[..., Lines], watchers: Watchers, kube: client.ApiClient
) -> None:
    watchers.start("w1")
    apps = client.AppsV1Api(kube)
    lines = watch_cli("get", "pods", "--cluster", watchers.cluster, "-n", NS, "-l", "app=live", "--watch")
    header = lines.wait_for(r"^EVENT\s+NAMESPACE\s+NAME")
    assert header.split() == ["EVENT", "NAMESPACE", "NAME", "READY", "STATUS", "NODE", "AGE"]

    apps.create_namespaced_deployment(NS, deployment("live", 1, {}))
    # Whether the pod appears before or after the subscription starts, it is printed, then goes Running.
    added = lines.wait_for(rf"^ADDED\s+{NS}\s+live-")
    pod = added.split()[2]
    # On a loaded machine the pod can already be running when the watch first shows it.
    if not re.search(r"\s1/1\s+Running\s", added):
        lines.wait_for(rf"^MODIFIED\s+{NS}\s+{re.escape(pod)}\s+1/1\s+Running\s")

    apps.delete_namespaced_deployment("live", NS, propagation_policy="Foreground")
    lines.wait_for(rf"^DELETED\s+{NS}\s+{re.escape(pod)}\s")

    lines.proc.send_signal(signal.SIGINT)
    assert lines.proc.wait(15) == 0


def test_watch_resumes_after_a_dropped_connection_without_loss_or_resync(
    watch_cli: Callable[..., Lines], watchers: Watchers, kube: client.ApiClient, podium: Podium,
    served_api: ServedApi,
) -> None:  # fmt: skip
    watchers.start("w1")
    apps = client.AppsV1Api(kube)
    proxy = TcpProxy(int(served_api.url.rsplit(":", 1)[1]))  # cut and refused while the CLI watches
    try:
        lines = watch_cli("--server", proxy.url, "get", "pods", "--cluster", watchers.cluster, "-n", NS,
                          "-l", "tier=resume", "--watch")  # fmt: skip
        lines.wait_for(r"^EVENT\s")
        apps.create_namespaced_deployment(NS, deployment("ra", 1, {"tier": "resume"}))
        added = lines.wait_for(rf"^ADDED\s+{NS}\s+ra-")
        first = added.split()[2]
        # On a loaded machine the pod can already be running when the watch first shows it.
        if not re.search(r"\s1/1\s+Running\s", added):
            lines.wait_for(rf"^MODIFIED\s+{NS}\s+{re.escape(first)}\s+1/1\s+Running\s")

        proxy.cut()
        wait_until(lambda: "watch interrupted" in lines.stderr.read_text(), 15, "the CLI to notice the drop")
        apps.create_namespaced_deployment(NS, deployment("rb", 1, {"tier": "resume"}))

        def rb_running() -> bool:
            items = listed(podium, "pods", "--cluster", watchers.cluster, "-n", NS, "-l", "app=rb")["items"]
            return len(items) == 1 and items[0]["summary"]["phase"] == "Running"

        wait_until(rb_running, 30, "rb's pod running in the snapshot while the CLI is cut off")
        proxy.down.clear()
        # Replayed from `since`: rb's pod arrives as events (no resync, nothing of ra printed again).
        second = lines.wait_for(rf"^ADDED\s+{NS}\s+rb-").split()[2]
        lines.wait_for(rf"^MODIFIED\s+{NS}\s+{re.escape(second)}\s+1/1\s+Running\s")
        assert not [line for line in lines.seen if line.startswith("RESYNC")]
        assert len([line for line in lines.seen if line.startswith("ADDED") and first in line]) == 1
        lines.proc.send_signal(signal.SIGINT)
        assert lines.proc.wait(15) == 0
    finally:
        proxy.close()


def test_watch_json_lines(
    watch_cli: Callable[..., Lines], watchers: Watchers, kube: client.ApiClient
) -> None:
    watchers.start("w1")
    lines = watch_cli("get", "deployments", "--cluster", watchers.cluster, "-n", NS, "-w", "-o", "json")
    apps = client.AppsV1Api(kube)
    apps.create_namespaced_deployment(NS, deployment("jsonl", 1, {"model": "m"}))
    # Listed or added, depending on whether the CLI had started listing by then.
    first = json.loads(lines.wait_for(r'"name": "jsonl"'))
    assert first["event"] in ("LISTED", "ADDED", "MODIFIED")
    assert first["object"]["metadata"]["namespace"] == NS
    apps.patch_namespaced_deployment_scale("jsonl", NS, {"spec": {"replicas": 2}})
    while True:  # every line is one JSON record; the scale shows up as a MODIFIED with 2 replicas
        record = json.loads(lines.wait_for(r'"name": "jsonl"'))
        if record["object"]["spec"]["replicas"] == 2:
            break
    assert record["event"] == "MODIFIED"
    lines.proc.send_signal(signal.SIGINT)
    assert lines.proc.wait(15) == 0


def pod(name: str, rv: str, phase: str = "Running") -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "resourceVersion": rv},
        "spec": {"containers": [{"name": "c"}], "nodeName": "n1"},
        "status": {"phase": phase},
    }


def test_snapshot_diff_and_resync(capsys: pytest.CaptureFixture[str]) -> None:
    """The message handling alone (no server needed to show it): the first snapshot prints only what
    differs from the list printed before it; a resync reprints everything; ids advance for `since`."""
    q = Query("c", Kind.pods, NS, None, None, 100)
    api = ApiClient(Connection("http://127.0.0.1:9", None))
    printer = Printer(["EVENT", "NAMESPACE", "NAME", "READY", "STATUS", "NODE", "AGE"], [])
    listed_before = {"Pod|podium/a": "1", "Pod|podium/b": "1"}
    w = Watch(api, q, OutputFormat.table, RowContext(), dict(listed_before), printer)
    w._handle({"type": "subscribed", "id": "get"})
    w._handle({"type": "snapshot", "id": "5-0", "objects": [pod("a", "1"), pod("b", "2"), pod("c", "3")]})
    out = [line.split()[:3] for line in capsys.readouterr().out.splitlines()]
    assert out == [["MODIFIED", NS, "b"], ["ADDED", NS, "c"]]
    assert w.since == "5-0"

    w._handle({"type": "event", "id": "6-0", "event": "DELETED", "object": pod("a", "4")})
    w._handle({"type": "resync", "id": "9-0", "objects": [pod("c", "7", "Pending")]})
    out = [line.split()[:5] for line in capsys.readouterr().out.splitlines()]
    assert out[0] == ["DELETED", NS, "a", "0/1", "Running"]
    assert out[1][0] == "EVENT"  # the header again, then the whole state
    assert out[2] == ["RESYNC", NS, "c", "0/1", "Pending"]
    assert w.since == "9-0"
    assert w.known == {"Pod|podium/c": "7"}
    assert w._subscription()["since"] == "9-0"
    api.close()
