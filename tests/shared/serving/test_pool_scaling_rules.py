import pytest
from podium_shared.errors import Conflict, TransientError
from podium_shared.serving.pool import PoolPod
from podium_shared.serving.pool_scaling import (
    _refuse_during_rollout,
    _refuse_if_controller_would_pick_assigned,
)


def dep(generation: int = 2, observed: int = 2, replicas: int = 3, updated: int = 3, total: int = 3) -> dict:
    return {
        "metadata": {"name": "pool", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total},
    }


def test_settled_deployment_may_scale() -> None:
    _refuse_during_rollout(dep())


@pytest.mark.parametrize(
    "state",
    [
        {"observed": 1},  # the controller has not seen the latest spec
        {"updated": 2},  # old ReplicaSet still has pods
        {"total": 4},  # a previous scale-down is still removing pods
    ],
)
def test_rollouts_and_unfinished_scales_are_retried_later(state: dict[str, int]) -> None:
    with pytest.raises(TransientError):
        _refuse_during_rollout(dep(**state))


def test_an_assigned_pod_that_is_not_ready_would_be_removed_first() -> None:
    pods = [PoolPod("a", "prod", False), PoolPod("b", "unassigned", True)]
    with pytest.raises(Conflict) as caught:
        _refuse_if_controller_would_pick_assigned(pods, ["b"])
    assert caught.value.details == {"pods": ["a"]}


def test_not_ready_chosen_pods_rank_first_anyway() -> None:
    pods = [PoolPod("a", "prod", False), PoolPod("b", "unassigned", False)]
    _refuse_if_controller_would_pick_assigned(pods, ["b"])
    _refuse_if_controller_would_pick_assigned(
        [PoolPod("a", "prod", True), PoolPod("b", "unassigned", True)], ["b"]
    )
