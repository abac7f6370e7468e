"""The same behaviours through the real kubectl binary, including its error messages."""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim.helpers import deployment

pytestmark = pytest.mark.kubectl

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


def kubectl(
    env: dict[str, str], *args: str, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [KUBECTL, *args], env=env, capture_output=True, text=True, timeout=60, input=stdin, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result


def _write(tmp_path: Path, name: str, obj: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(obj))
    return str(path)


def test_get_and_not_found_message(kubectl_env: dict[str, str], namespace: str) -> None:
    out = kubectl(kubectl_env, "get", "nodes").stdout
    assert out.splitlines()[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    missing = kubectl(kubectl_env, "get", "pod", "nope", "-n", namespace, check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'
    resources = kubectl(kubectl_env, "api-resources", "-o", "name").stdout.split()
    assert {"pods", "deployments.apps", "pytorchjobs.kubeflow.org"} <= set(resources)


def test_create_apply_and_get_json(kubectl_env: dict[str, str], namespace: str, tmp_path: Path) -> None:
    manifest = _write(tmp_path, "d.yaml", deployment("kweb", replicas=1))
    assert (
        "deployment.apps/kweb created"
        in kubectl(kubectl_env, "create", "-f", manifest, "-n", namespace).stdout
    )
    dup = kubectl(kubectl_env, "create", "-f", manifest, "-n", namespace, check=False)
    assert "Error from server (AlreadyExists): error when creating" in dup.stderr
    assert 'deployments.apps "kweb" already exists' in dup.stderr
    changed = deployment("kweb", replicas=2)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    manifest2 = _write(tmp_path, "d2.yaml", changed)
    out = kubectl(kubectl_env, "apply", "-f", manifest2, "-n", namespace).stdout
    assert "deployment.apps/kweb configured" in out
    got = json.loads(kubectl(kubectl_env, "get", "deploy", "kweb", "-n", namespace, "-o", "json").stdout)
    assert got["spec"]["replicas"] == 2
    assert got["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert got["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP"}
    ]
    kubectl(kubectl_env, "rollout", "status", "deploy/kweb", "-n", namespace, "--timeout=60s")
    described = kubectl(kubectl_env, "describe", "deploy", "kweb", "-n", namespace).stdout
    assert "Replicas:               2 desired" in described
    assert "nginx:1.28" in described


def test_server_side_apply_and_conflict(kubectl_env: dict[str, str], namespace: str, tmp_path: Path) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1"}}
    path = _write(tmp_path, "cm.yaml", cm)
    out = kubectl(kubectl_env, "apply", "--server-side", "-f", path, "-n", namespace).stdout
    assert "configmap/ssa serverside-applied" in out
    cm["data"]["a"] = "2"
    path2 = _write(tmp_path, "cm2.yaml", cm)
    clash = kubectl(
        kubectl_env,
        "apply",
        "--server-side",
        "--field-manager",
        "other",
        "-f",
        path2,
        "-n",
        namespace,
        check=False,
    )
    assert clash.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .data.a' in clash.stderr
    kubectl(
        kubectl_env,
        "apply",
        "--server-side",
        "--field-manager",
        "other",
        "--force-conflicts",
        "-f",
        path2,
        "-n",
        namespace,
    )
    shown = kubectl(
        kubectl_env, "get", "cm", "ssa", "-n", namespace, "-o", "yaml", "--show-managed-fields"
    ).stdout
    assert "manager: other" in shown


def test_label_annotate_patch_scale(kubectl_env: dict[str, str], namespace: str, tmp_path: Path) -> None:
    kubectl(
        kubectl_env, "create", "-f", _write(tmp_path, "d.yaml", deployment("kp", replicas=0)), "-n", namespace
    )
    ns = ("-n", namespace)
    assert "labeled" in kubectl(kubectl_env, "label", "deploy", "kp", "tier=web", *ns).stdout
    assert "annotated" in kubectl(kubectl_env, "annotate", "deploy", "kp", "note=hi", *ns).stdout
    kubectl(
        kubectl_env,
        "patch",
        "deploy",
        "kp",
        *ns,
        "--type",
        "merge",
        "-p",
        '{"metadata":{"labels":{"m":"1"}}}',
    )
    kubectl(
        kubectl_env,
        "patch",
        "deploy",
        "kp",
        *ns,
        "--type",
        "json",
        "-p",
        '[{"op":"add","path":"/metadata/labels/j","value":"2"}]',
    )
    kubectl(
        kubectl_env,
        "patch",
        "deploy",
        "kp",
        *ns,
        "--type",
        "strategic",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"A","value":"b"}]}]}}}}',
    )
    assert "scaled" in kubectl(kubectl_env, "scale", "deploy", "kp", "--replicas=0", *ns).stdout
    got = json.loads(kubectl(kubectl_env, "get", "deploy", "kp", *ns, "-o", "json").stdout)
    assert got["metadata"]["labels"] == {"app": "kp", "tier": "web", "m": "1", "j": "2"}
    assert got["metadata"]["annotations"]["note"] == "hi"
    container = got["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["env"]) == ("nginx:1.27", [{"name": "A", "value": "b"}])
    overwrite = kubectl(kubectl_env, "label", "deploy", "kp", "tier=db", *ns, check=False)
    assert "already has a value (web)" in overwrite.stderr
    bad = kubectl(kubectl_env, "label", "deploy", "kp", "bad key=x", *ns, check=False)
    assert bad.returncode != 0


def test_logs_and_delete(kubectl_env: dict[str, str], namespace: str, kubesim: Any) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "talker"},
        "spec": {
            "nodeSelector": {"kubesim.test/never": "true"},
            "containers": [{"name": "app", "image": "busybox:1.36"}],
        },
    }
    kubectl(kubectl_env, "create", "-f", "-", "-n", namespace, stdin=json.dumps(pod))
    for i in range(3):
        kubesim.call(lambda i=i: kubesim.sim.logs.append(namespace, "talker", "app", f"hello {i}"))
    assert kubectl(kubectl_env, "logs", "talker", "-n", namespace, "--tail=2").stdout == "hello 1\nhello 2\n"
    out = kubectl(kubectl_env, "delete", "pod", "talker", "-n", namespace).stdout
    assert 'pod "talker" deleted' in out
    gone = kubectl(kubectl_env, "delete", "pod", "talker", "-n", namespace, check=False)
    assert gone.stderr.strip() == 'Error from server (NotFound): pods "talker" not found'


def test_get_watch_streams_changes(kubectl_env: dict[str, str], namespace: str) -> None:
    lines: queue.Queue[str] = queue.Queue()
    with subprocess.Popen(
        [KUBECTL, "get", "configmaps", "-w", "-n", namespace, "--output-watch-events"],
        env=kubectl_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        # A reader thread, so that waiting for output has a deadline even if kubectl prints nothing.
        reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)  # type: ignore[union-attr]
        reader.start()
        try:
            # Created before or after kubectl's initial list, w1 shows up as ADDED either way.
            kubectl(kubectl_env, "create", "configmap", "w1", "-n", namespace)
            kubectl(kubectl_env, "label", "configmap", "w1", "x=y", "-n", namespace)
            events: list[tuple[str, str]] = []
            deadline = time.monotonic() + 15
            while ("MODIFIED", "w1") not in events and time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    parts = lines.get(timeout=0.2).split()
                    if len(parts) > 1:
                        events.append((parts[0], parts[1]))
        finally:
            proc.kill()
    assert ("ADDED", "w1") in events
    assert ("MODIFIED", "w1") in events


def test_get_wide_shows_node_and_pod_details(kubectl_env: dict[str, str], namespace: str) -> None:
    header, *rows = kubectl(kubectl_env, "get", "nodes", "-o", "wide").stdout.splitlines()
    assert header.split() == [
        "NAME",
        "STATUS",
        "ROLES",
        "AGE",
        "VERSION",
        "INTERNAL-IP",
        "EXTERNAL-IP",
        "OS-IMAGE",
        "KERNEL-VERSION",
        "CONTAINER-RUNTIME",
    ]
    assert rows
    for row in rows:
        assert "<none>" in row  # EKS nodes here have no external IP
        assert "Amazon Linux 2" in row
        assert "containerd://" in row
        assert row.split()[5].startswith("10.")

    ns = ("-n", namespace)
    kubectl(kubectl_env, "run", "wide", "--image=nginx:1.27", *ns)
    kubectl(kubectl_env, "wait", "--for=condition=Ready", "pod/wide", "--timeout=60s", *ns)
    pod = json.loads(kubectl(kubectl_env, "get", "pod", "wide", "-o", "json", *ns).stdout)
    header, row = kubectl(kubectl_env, "get", "pod", "wide", "-o", "wide", *ns).stdout.splitlines()
    assert header.split()[5:8] == ["IP", "NODE", "NOMINATED"]
    assert row.split()[5:7] == [pod["status"]["podIP"], pod["spec"]["nodeName"]]
