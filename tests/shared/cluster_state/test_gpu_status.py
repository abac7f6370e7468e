"""GPU arithmetic of the cluster status, counted the way the scheduler counts."""

from __future__ import annotations

from typing import Any

from podium_shared.cluster_state.status import cluster_status
from podium_shared.kube.gpu import pod_gpus


def node(name: str, gpus: int, *, ready: bool = True, group: tuple[str, str] | None = None) -> dict[str, Any]:
    labels = {"node.kubernetes.io/instance-type": "ml.p5.48xlarge" if gpus else "m5.large"}
    if group:
        labels[group[0]] = group[1]
    res = {"cpu": "8", "nvidia.com/gpu": str(gpus)} if gpus else {"cpu": "8"}
    return {
        "metadata": {"name": name, "labels": labels},
        "status": {
            "capacity": res,
            "allocatable": res,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def container(requests: int | None = None, limits: int | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if requests is not None:
        res["requests"] = {"nvidia.com/gpu": str(requests), "cpu": "1"}
    if limits is not None:
        res["limits"] = {"nvidia.com/gpu": str(limits)}
    return {"name": "c", "resources": res}


def pod(
    node_name: str | None,
    phase: str,
    containers: list[dict[str, Any]],
    init: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": containers}
    if node_name:
        spec["nodeName"] = node_name
    if init:
        spec["initContainers"] = init
    return {"metadata": {"name": "p", "namespace": "ns"}, "spec": spec, "status": {"phase": phase}}


def test_limits_imply_requests_for_extended_resources() -> None:
    assert pod_gpus(pod("n", "Running", [container(limits=2)])) == 2
    assert pod_gpus(pod("n", "Running", [container(requests=1, limits=1)])) == 1


def test_multi_container_sum_and_init_max() -> None:
    p = pod(
        "n",
        "Running",
        [container(requests=2), container(limits=1), container()],
        init=[container(requests=1)],
    )
    assert pod_gpus(p) == 3
    # An init container needing more than all app containers together sets the pod's request.
    assert (
        pod_gpus(
            pod("n", "Pending", [container(requests=1)], init=[container(requests=4), container(limits=2)])
        )
        == 4
    )


def test_cluster_status_counts_running_and_pending_bound_pods_only() -> None:
    nodes = [
        node("gpu-1", 8, group=("sagemaker.amazonaws.com/instance-group-name", "workers")),
        node("gpu-2", 4, ready=False, group=("eks.amazonaws.com/nodegroup", "ng-gpu")),
        node("cpu-1", 0, group=("eks.amazonaws.com/nodegroup", "ng-cpu")),
    ]
    pods = [
        pod("gpu-1", "Running", [container(requests=2), container(limits=1)]),  # 3
        pod("gpu-1", "Pending", [container(limits=2)]),  # bound, starting: 2
        pod("gpu-1", "Succeeded", [container(requests=4)]),  # finished: holds nothing
        pod("gpu-1", "Failed", [container(requests=4)]),
        pod("gpu-2", "Running", [container(requests=4)]),  # 4 on a NotReady node still counts
        pod("cpu-1", "Running", [container()]),
        pod(None, "Pending", [container(requests=8)]),  # unscheduled
    ]
    status = cluster_status("c", nodes, pods, snapshot_age=1.5)
    rows = {r.name: r for r in status.nodes}
    assert (rows["gpu-1"].gpu_capacity, rows["gpu-1"].gpu_requested, rows["gpu-1"].gpu_free) == (8, 5, 3)
    assert rows["gpu-1"].node_group == "workers"
    assert rows["gpu-1"].node_group_kind == "hyperpod"
    assert rows["gpu-1"].instance_type == "ml.p5.48xlarge"
    assert rows["gpu-1"].pods == 2
    assert (rows["gpu-2"].ready, rows["gpu-2"].gpu_requested, rows["gpu-2"].gpu_free) == (False, 4, 0)
    assert rows["gpu-2"].node_group_kind == "eks"
    assert (rows["cpu-1"].gpu_capacity, rows["cpu-1"].gpu_requested, rows["cpu-1"].gpu_free) == (0, 0, 0)
    t = status.totals
    assert (t.nodes, t.ready_nodes, t.gpu_capacity, t.gpu_requested, t.gpu_free) == (3, 2, 12, 9, 3)
    assert t.gpu_pending_unscheduled == 8
    assert status.snapshot_age_seconds == 1.5


def test_free_never_negative_when_overcommitted() -> None:
    status = cluster_status("c", [node("n", 1)], [pod("n", "Running", [container(requests=2)])], None)
    assert status.nodes[0].gpu_free == 0
