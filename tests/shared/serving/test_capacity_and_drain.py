import pytest
from podium_shared.cluster_state.capacity import check_fit, free_gpus
from podium_shared.errors import Invalid
from podium_shared.serving.drain import gauge_value


def node(name: str, gpus: int, *, ready: bool = True, labels: dict[str, str] | None = None) -> dict:
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "status": {
            "allocatable": {"nvidia.com/gpu": str(gpus)},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def pod(node_name: str, gpus: int, phase: str = "Running") -> dict:
    return {
        "spec": {
            "nodeName": node_name,
            "containers": [{"resources": {"requests": {"nvidia.com/gpu": str(gpus)}}}],
        },
        "status": {"phase": phase},
    }


def test_free_gpus_counts_only_live_pods() -> None:
    free = free_gpus([node("a", 8)], [pod("a", 2), pod("a", 4, "Succeeded")])
    assert free == {"a": (8, 6)}


def test_a_replica_bigger_than_every_node_is_invalid() -> None:
    with pytest.raises(Invalid) as caught:
        check_fit(nodes=[node("a", 4), node("b", 8, ready=False)], pods=[], gpus_per_replica=8, replicas=1,
                  node_selector={})  # fmt: skip
    assert caught.value.code == "does_not_fit"


def test_node_selector_limits_the_candidates() -> None:
    nodes = [node("a", 8, labels={"g": "x"}), node("b", 2, labels={"g": "y"})]
    assert check_fit(nodes=nodes, pods=[], gpus_per_replica=4, replicas=2, node_selector={"g": "x"}) == []
    with pytest.raises(Invalid):
        check_fit(nodes=nodes, pods=[], gpus_per_replica=4, replicas=1, node_selector={"g": "y"})


def test_warns_when_not_everything_fits_now() -> None:
    warnings = check_fit(
        nodes=[node("a", 8)], pods=[pod("a", 6)], gpus_per_replica=2, replicas=2, node_selector={}
    )
    assert warnings
    assert "only 1 of 2" in warnings[0]
    assert check_fit(nodes=[], pods=[], gpus_per_replica=0, replicas=3, node_selector={}) == []


def test_gauge_value_sums_samples_and_ignores_longer_names() -> None:
    text = (
        "# HELP vllm:num_requests_running x\n"
        'vllm:num_requests_running{model_name="a"} 2.0\n'
        'vllm:num_requests_running{model_name="b"} 1.0\n'
        'vllm:num_requests_running_total{model_name="a"} 99.0\n'
        "sglang:num_running_reqs 4\n"
    )
    assert gauge_value(text, "vllm:num_requests_running") == 3.0
    assert gauge_value(text, "sglang:num_running_reqs") == 4.0
    assert gauge_value(text, "ollama_requests_running") is None
