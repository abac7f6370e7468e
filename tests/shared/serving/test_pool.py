from collections import Counter

import pytest
from podium_shared.errors import Conflict
from podium_shared.serving import labels as L
from podium_shared.serving.pool import (
    PoolPod,
    counts_from_ratios,
    deletion_costs,
    plan_distribution,
    plan_scale_down,
    status,
)


def pods(*spec: str, ready: bool = True) -> list[PoolPod]:
    """`pods("prod", "prod", "unassigned")` → p0..p2 with those businesses."""
    return [PoolPod(name=f"p{i}", business=b, ready=ready) for i, b in enumerate(spec)]


def apply(current: list[PoolPod], moves: list) -> Counter[str]:
    where = {p.name: p.business for p in current}
    for m in moves:
        assert where[m.pod] == m.source
        where[m.pod] = m.target
    return Counter(where.values())


def test_status_counts_and_ignores_terminating() -> None:
    current = [*pods("prod", "test", "unassigned", "unassigned"), PoolPod("gone", "unassigned", True, True)]
    s = status(current)
    assert s["total_pods"] == 4
    assert s["terminating_pods"] == 1
    assert s["pods_per_business"] == {"prod": 1, "test": 1, "unassigned": 2}
    assert s["available_for_scale_down"] == 2


def test_pool_pod_from_obj() -> None:
    obj = {
        "metadata": {"name": "x", "labels": {L.BUSINESS: "prod"}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert PoolPod.from_obj(obj) == PoolPod("x", "prod", True, False)


@pytest.mark.parametrize(
    ("ratios", "total", "expected"),
    [
        ({"prod": 3, "test": 1}, 4, {"prod": 3, "test": 1}),
        ({"prod": 1, "test": 1}, 3, {"prod": 2, "test": 1}),
        ({"a": 1, "b": 1, "c": 1}, 100, {"a": 34, "b": 33, "c": 33}),
        ({"prod": 1, "test": 0}, 5, {"prod": 5, "test": 0}),
    ],
)
def test_ratios_place_every_pod(ratios: dict[str, int], total: int, expected: dict[str, int]) -> None:
    assert counts_from_ratios(ratios, total) == expected


def test_distribute_from_all_unassigned() -> None:
    current = pods(*["unassigned"] * 4)
    moves = plan_distribution(current, ratios={"prod": 3, "test": 1})
    assert len(moves) == 4
    assert apply(current, moves) == Counter({"prod": 3, "test": 1})


def test_distribute_moves_the_fewest_pods() -> None:
    current = pods("prod", "prod", "test", "test", "unassigned", "unassigned")
    moves = plan_distribution(current, counts={"prod": 3, "test": 2})
    assert len(moves) == 1
    assert moves[0].source == "unassigned"
    assert moves[0].target == "prod"
    assert apply(current, moves) == Counter({"prod": 3, "test": 2, "unassigned": 1})


def test_distribute_is_a_no_op_when_already_there() -> None:
    assert plan_distribution(pods("prod", "prod", "prod", "test"), ratios={"prod": 3, "test": 1}) == []


def test_businesses_not_named_give_their_pods_back() -> None:
    current = pods("old", "old", "prod")
    moves = plan_distribution(current, counts={"prod": 1})
    assert apply(current, moves) == Counter({"prod": 1, "unassigned": 2})
    assert len(moves) == 2


def test_ready_pods_stay_and_not_ready_pods_move_first() -> None:
    current = [PoolPod("a", "prod", False), PoolPod("b", "prod", True), PoolPod("c", "test", True)]
    moves = plan_distribution(current, counts={"prod": 1, "test": 2})
    assert [(m.pod, m.target) for m in moves] == [("a", "test")]


def test_counts_larger_than_the_pool_conflict() -> None:
    with pytest.raises(Conflict):
        plan_distribution(pods("unassigned"), counts={"prod": 2})


@pytest.mark.parametrize("size", [1, 7, 100])
def test_distribution_is_minimal_for_many_shapes(size: int) -> None:
    current = pods(*(["prod", "test", "unassigned", "dev"] * size))
    moves = plan_distribution(current, ratios={"prod": 1, "test": 3})
    final = apply(current, moves)
    assert final == Counter(counts_from_ratios({"prod": 1, "test": 3}, len(current))) - Counter()
    before = Counter(p.business for p in current)
    lower_bound = sum(max(0, before[b] - final.get(b, 0)) for b in before)
    assert len(moves) == lower_bound


def test_scale_down_takes_only_unassigned_not_ready_first() -> None:
    current = [
        PoolPod("a", "unassigned", True),
        PoolPod("b", "unassigned", False),
        PoolPod("c", "prod", True),
    ]
    assert plan_scale_down(current, 1) == ["b"]
    assert plan_scale_down(current, 2) == ["b", "a"]
    assert plan_scale_down(current, 0) == []


def test_scale_down_without_enough_unassigned_says_how_many() -> None:
    with pytest.raises(Conflict) as caught:
        plan_scale_down(pods("prod", "test", "unassigned"), 2)
    assert caught.value.status == 409
    assert caught.value.message == "need 2 unassigned pods, only 1 available"


def test_deletion_costs_mark_exactly_the_chosen() -> None:
    current = pods("prod", "unassigned", "unassigned")
    costs = deletion_costs(current, ["p2"])
    assert costs == {"p0": L.DELETION_COST_HIGH, "p1": L.DELETION_COST_HIGH, "p2": L.DELETION_COST_LOW}
