"""Deployment and ReplicaSet controllers through the official client over HTTP: rollout, Recreate,
revision history, and the real scale-down victim order (pod-deletion-cost)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kubernetes import client
from podium_kubesim.controllers.podutil import rank_victims, template_hash
from podium_kubesim.runner import RunningKubeSim

from kubesim.helpers import wait_for

T = TypeVar("T")


def deployment(
    name: str,
    replicas: int,
    image: str = "nginx:1.27",
    strategy: dict[str, Any] | None = None,
    cpu: str = "100m",
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy or {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}},
                        }
                    ]
                },
            },
        },
    }


def converged(apps: client.AppsV1Api, ns: str, name: str, replicas: int) -> Any:
    d = apps.read_namespaced_deployment(name, ns)
    s = d.status
    if (
        s.observed_generation == d.metadata.generation
        and s.updated_replicas == replicas
        and s.replicas == replicas
        and s.available_replicas == replicas
    ):
        return d
    return None


def pod_history(sim: RunningKubeSim, ns: str) -> list[tuple[str, dict[str, Any]]]:
    """Every pod change in the namespace, in order, from the store's watch history."""

    def read() -> list[tuple[str, dict[str, Any]]]:
        return [
            (ev.type, ev.raw)
            for ev in sim.sim.store.history
            if ev.resource.key == "pods" and ev.raw["metadata"].get("namespace") == ns
        ]

    return sim.call(read)


def test_rollout_creates_new_replicaset_and_scales_old_to_zero(small_cluster: Any, ns: str) -> None:
    sim, api = small_cluster
    apps = client.AppsV1Api(api)
    core = client.CoreV1Api(api)
    apps.create_namespaced_deployment(ns, deployment("web", 4))
    d = wait_for(lambda: converged(apps, ns, "web", 4), what="first rollout")
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    progressing = {c.type: c for c in d.status.conditions}
    assert progressing["Available"].status == "True"
    assert progressing["Available"].reason == "MinimumReplicasAvailable"
    assert progressing["Progressing"].reason == "NewReplicaSetAvailable"
    (rs1,) = apps.list_namespaced_replica_set(ns).items
    h = rs1.metadata.labels["pod-template-hash"]
    assert rs1.metadata.name == f"web-{h}"
    assert rs1.spec.selector.match_labels == {"app": "web", "pod-template-hash": h}
    ref = rs1.metadata.owner_references[0]
    assert (ref.kind, ref.name, ref.controller, ref.block_owner_deletion) == ("Deployment", "web", True, True)
    pods = core.list_namespaced_pod(ns).items
    assert len(pods) == 4
    for p in pods:
        assert p.metadata.labels["pod-template-hash"] == h
        assert p.metadata.owner_references[0].name == rs1.metadata.name
        assert p.metadata.owner_references[0].controller is True

    apps.patch_namespaced_deployment(
        "web", ns, {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}}
    )
    d = wait_for(lambda: converged(apps, ns, "web", 4), what="second rollout")
    wait_for(lambda: len(core.list_namespaced_pod(ns).items) == 4, what="old pods gone")
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    sets = {r.metadata.name: r for r in apps.list_namespaced_replica_set(ns).items}
    assert len(sets) == 2
    old = sets[rs1.metadata.name]
    assert old.spec.replicas == 0  # kept for history, scaled to zero
    new = next(r for n, r in sets.items() if n != rs1.metadata.name)
    assert new.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    assert all(p.spec.containers[0].image == "nginx:1.28" for p in core.list_namespaced_pod(ns).items)

    # maxSurge 25% of 4 = 1: never more than 5 active pods; maxUnavailable 1: never fewer than 3 ready.
    active: dict[str, bool] = {}
    peak = 0
    for etype, pod in pod_history(sim, ns):
        name = pod["metadata"]["name"]
        if etype == "DELETED" or pod["metadata"].get("deletionTimestamp"):
            active.pop(name, None)
        else:
            ready = any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in pod.get("status", {}).get("conditions", [])
            )
            active[name] = ready
        peak = max(peak, len(active))
    assert peak <= 5

    events = core.list_namespaced_event(ns, field_selector="reason=ScalingReplicaSet").items
    messages = {e.message for e in events}
    assert f"Scaled up replica set {new.metadata.name} from 0 to 1" in messages
    assert any(m.startswith(f"Scaled down replica set {rs1.metadata.name}") for m in messages)


def test_recreate_waits_for_old_pods_before_new_ones(small_cluster: Any, ns: str) -> None:
    sim, api = small_cluster
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment(ns, deployment("batch", 3, strategy={"type": "Recreate"}))
    wait_for(lambda: converged(apps, ns, "batch", 3), what="first rollout")
    old_hash = apps.list_namespaced_replica_set(ns).items[0].metadata.labels["pod-template-hash"]
    apps.patch_namespaced_deployment(
        "batch", ns, {"spec": {"template": {"metadata": {"labels": {"v": "2"}}}}}
    )
    wait_for(
        lambda: (
            converged(apps, ns, "batch", 3) and len(client.CoreV1Api(api).list_namespaced_pod(ns).items) == 3
        ),
        what="recreate rollout",
    )
    live: set[str] = set()
    for etype, pod in pod_history(sim, ns):
        name = pod["metadata"]["name"]
        is_old = pod["metadata"]["labels"]["pod-template-hash"] == old_hash
        if etype == "DELETED":
            live.discard(name)
        elif etype == "ADDED":
            if not is_old:
                assert not any(n for n in live if n.startswith(f"batch-{old_hash}")), (
                    "new pod while old alive"
                )
            live.add(name)


def test_scale_up_and_down_and_revision_history_limit(small_cluster: Any, ns: str) -> None:
    _, api = small_cluster
    apps = client.AppsV1Api(api)
    body = deployment("hist", 2)
    body["spec"]["revisionHistoryLimit"] = 1
    apps.create_namespaced_deployment(ns, body)
    wait_for(lambda: converged(apps, ns, "hist", 2), what="rollout")
    for version in ("a", "b", "c"):
        apps.patch_namespaced_deployment(
            "hist", ns, {"spec": {"template": {"metadata": {"labels": {"v": version}}}}}
        )
        wait_for(lambda: converged(apps, ns, "hist", 2), what=f"rollout {version}")
    wait_for(lambda: len(apps.list_namespaced_replica_set(ns).items) == 2, what="history pruned to 1 old set")
    apps.patch_namespaced_deployment_scale("hist", ns, {"spec": {"replicas": 5}})
    wait_for(lambda: converged(apps, ns, "hist", 5), what="scale up")
    apps.patch_namespaced_deployment_scale("hist", ns, {"spec": {"replicas": 1}})
    d = wait_for(lambda: converged(apps, ns, "hist", 1), what="scale down")
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "4"


def test_scale_down_removes_exactly_the_lowest_deletion_cost_pods(small_cluster: Any, ns: str) -> None:
    _, api = small_cluster
    apps = client.AppsV1Api(api)
    core = client.CoreV1Api(api)
    apps.create_namespaced_deployment(ns, deployment("pool", 6))
    wait_for(lambda: converged(apps, ns, "pool", 6), what="pool ready")
    pods = sorted(p.metadata.name for p in core.list_namespaced_pod(ns).items)
    # Mark two pods as cheap to delete (the way Podium marks unassigned pool pods) and the rest expensive.
    cheap = {pods[1], pods[4]}
    for name in pods:
        cost = "-100" if name in cheap else "1000"
        core.patch_namespaced_pod(
            name, ns, {"metadata": {"annotations": {"controller.kubernetes.io/pod-deletion-cost": cost}}}
        )
    apps.patch_namespaced_deployment_scale("pool", ns, {"spec": {"replicas": 4}})
    wait_for(lambda: converged(apps, ns, "pool", 4), what="scaled down")
    remaining = {
        p.metadata.name for p in core.list_namespaced_pod(ns).items if not p.metadata.deletion_timestamp
    }
    assert remaining == set(pods) - cheap
    deleted = core.list_namespaced_event(ns, field_selector="reason=SuccessfulDelete").items
    assert {e.message.removeprefix("Deleted pod: ") for e in deleted} == cheap


# --- the victim order itself, criterion by criterion (pure, precise) ----------------------------


def _pod(
    name: str,
    *,
    node: str | None = "n1",
    phase: str = "Running",
    ready: bool = True,
    cost: int | None = None,
    ready_for: float = 3600,
    restarts: int = 0,
    age: float = 7200,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    ts = lambda s: (now - timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    pod: dict[str, Any] = {
        "metadata": {"name": name, "creationTimestamp": ts(age), "annotations": {}},
        "spec": {"nodeName": node} if node else {},
        "status": {
            "phase": phase,
            "conditions": [
                {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ts(ready_for)}
            ],
            "containerStatuses": [{"name": "c", "restartCount": restarts}],
        },
    }
    if cost is not None:
        pod["metadata"]["annotations"]["controller.kubernetes.io/pod-deletion-cost"] = str(cost)
    return pod


def _order(*pods: dict[str, Any]) -> list[str]:
    return [p["metadata"]["name"] for p in rank_victims(list(reversed(pods)), list(pods))]


def test_victim_order_unassigned_before_assigned() -> None:
    assert (
        _order(_pod("unassigned", node=None, phase="Pending", ready=False), _pod("assigned"))[0]
        == "unassigned"
    )


def test_victim_order_pending_unknown_running() -> None:
    assert _order(
        _pod("pending", phase="Pending", ready=False),
        _pod("unknown", phase="Unknown", ready=False),
        _pod("running", ready=False),
    ) == ["pending", "unknown", "running"]


def test_victim_order_not_ready_before_ready() -> None:
    assert _order(_pod("notready", ready=False), _pod("ready")) == ["notready", "ready"]


def test_victim_order_lower_deletion_cost_first_even_if_newer_pods_exist() -> None:
    assert _order(
        _pod("cheap", cost=-5, age=100_000), _pod("default", age=10), _pod("dear", cost=10, age=5)
    ) == ["cheap", "default", "dear"]


def test_victim_order_doubled_up_nodes_first() -> None:
    pods = [_pod("alone", node="n1"), _pod("crowded-a", node="n2"), _pod("crowded-b", node="n2")]
    assert _order(*pods)[2] == "alone"


def test_victim_order_ready_for_shorter_time_first() -> None:
    assert _order(_pod("long", ready_for=10_000), _pod("short", ready_for=10)) == ["short", "long"]


def test_victim_order_more_restarts_first() -> None:
    assert _order(_pod("calm", restarts=0), _pod("flappy", restarts=3)) == ["flappy", "calm"]


def test_victim_order_newer_first() -> None:
    assert _order(_pod("old", age=100_000), _pod("new", age=100)) == ["new", "old"]


def test_template_hash_is_stable_and_ignores_its_own_label() -> None:
    t = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    labelled = {
        "metadata": {"labels": {"app": "x", "pod-template-hash": "abc"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }
    assert template_hash(t) == template_hash(labelled)
    assert template_hash(t) != template_hash(t, collision_count=1)
    assert set(template_hash(t)) <= set("bcdfghjklmnpqrstvwxz2456789")


@pytest.mark.kubectl
def test_kubectl_rollout_status_history_and_undo(small_cluster: Any, ns: str, tmp_path: Path) -> None:
    sim, api = small_cluster
    apps = client.AppsV1Api(api)
    env = {"KUBECONFIG": str(sim.write_kubeconfig(tmp_path / "kubeconfig")), "PATH": "/usr/bin:/bin"}

    def kubectl(*args: str) -> str:
        done = subprocess.run(
            ["/usr/bin/kubectl", "-n", ns, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    apps.create_namespaced_deployment(ns, deployment("roll", 3))
    assert 'deployment "roll" successfully rolled out' in kubectl(
        "rollout", "status", "deploy/roll", "--timeout=30s"
    )
    kubectl("set", "image", "deploy/roll", "web=nginx:1.28")
    assert "successfully rolled out" in kubectl("rollout", "status", "deploy/roll", "--timeout=30s")
    history = kubectl("rollout", "history", "deploy/roll")
    assert "1 " in history
    assert "2 " in history
    kubectl("rollout", "undo", "deploy/roll")
    assert "successfully rolled out" in kubectl("rollout", "status", "deploy/roll", "--timeout=30s")
    d = wait_for(lambda: converged(apps, ns, "roll", 3), what="undo converged")
    assert d.spec.template.spec.containers[0].image == "nginx:1.27"
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    assert len(apps.list_namespaced_replica_set(ns).items) == 2  # the old set was reused, not duplicated


def test_paused_controllers_do_nothing_until_resumed(small_cluster: Any, ns: str) -> None:
    sim, api = small_cluster
    apps = client.AppsV1Api(api)
    sim.call(lambda: setattr(sim.sim, "paused", True))
    try:
        apps.create_namespaced_deployment(ns, deployment("frozen", 2))
        # No fixed sleep: wait until the deployment controller has the work queued, which proves the event
        # reached it; paused, it must still not have acted on it.
        hub = sim.sim.hub
        assert hub is not None
        controller = next(c for c in hub.controllers if c.name == "deployment-controller")
        wait_for(lambda: sim.call(lambda: (ns, "frozen") in controller.queue), what="deployment queued")
        assert apps.list_namespaced_replica_set(ns).items == []
    finally:
        sim.call(lambda: setattr(sim.sim, "paused", False))
    wait_for(lambda: converged(apps, ns, "frozen", 2), what="rollout after resume")
