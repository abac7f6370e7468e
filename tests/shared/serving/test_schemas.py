import pytest
from podium_shared.errors import Invalid
from podium_shared.operations.kinds import get_kind
from podium_shared.serving.reads import parse_targets
from podium_shared.serving.schemas import (
    AssignPodParams,
    CreateBusinessServiceParams,
    DeployModelParams,
    DistributePoolParams,
)
from podium_shared.serving.spec import resolve
from pydantic import ValidationError


def test_exactly_one_source() -> None:
    with pytest.raises(ValidationError):
        DeployModelParams.model_validate({})
    with pytest.raises(ValidationError):
        DeployModelParams.model_validate({"model": "a/b", "command_line": "ollama run x", "engine": "vllm"})
    with pytest.raises(ValidationError, match="engine"):
        DeployModelParams.model_validate({"model": "a/b"})


def test_bad_command_line_is_a_validation_error_naming_the_token() -> None:
    with pytest.raises(ValidationError, match="'two'"):
        DeployModelParams.model_validate({"command_line": "vllm serve a/b --tensor-parallel-size two"})


def test_engine_must_agree_with_command_line() -> None:
    with pytest.raises(ValidationError, match="sglang"):
        DeployModelParams.model_validate(
            {"engine": "vllm", "command_line": "python -m sglang.launch_server --model-path a/b"}
        )


@pytest.mark.parametrize(
    "field",
    [
        {"namespace": "default; rm"},
        {"name": "$(id)"},
        {"instance_type": "g5\nkind: Secret"},
        {"extra_args": ["rm"]},
        {"extra_args": ["--x", "a\nb"]},
        {"hf_token": "abc\ndef"},
        {"replicas": -1},
        {"unknown_field": 1},
    ],
)
def test_hostile_fields_are_rejected(field: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DeployModelParams.model_validate({"engine": "vllm", "model": "a/b", **field})


def test_token_never_appears_in_repr() -> None:
    p = DeployModelParams.model_validate({"engine": "vllm", "model": "a/b", "hf_token": "hf_TOPSECRET"})
    assert "hf_TOPSECRET" not in repr(p)


def test_fields_mode_gpus_set_tensor_parallel() -> None:
    spec = resolve(
        DeployModelParams.model_validate({"engine": "vllm", "model": "a/b", "gpus_per_replica": 4}),
        has_token=False,
    )
    assert spec.tensor_parallel == 4
    assert spec.gpus_per_replica == 4
    cpu = resolve(
        DeployModelParams.model_validate({"engine": "ollama", "model": "llama3", "gpus_per_replica": 0}),
        has_token=False,
    )
    assert cpu.gpus_per_replica == 0


def test_other_params() -> None:
    with pytest.raises(ValidationError):
        CreateBusinessServiceParams.model_validate({"pool": "p", "business": "unassigned"})
    assert AssignPodParams.model_validate({"pod": "p-1", "business": "unassigned"}).business == "unassigned"
    with pytest.raises(ValidationError):
        AssignPodParams.model_validate({"pod": "p-1", "business": "Prod!"})
    with pytest.raises(ValidationError):
        DistributePoolParams.model_validate({"pool": "p", "ratios": {"a": 1}, "counts": {"a": 1}})
    with pytest.raises(ValidationError):
        DistributePoolParams.model_validate({"pool": "p", "ratios": {"a": 0}})


def test_assign_pods_expands_into_one_assign_pod_child_per_move() -> None:
    kind = get_kind("assign_pods")
    params = kind.params.model_validate(
        {
            "namespace": "ns",
            "moves": [{"pod": "p-1", "business": "prod"}, {"pod": "p-2", "business": "unassigned"}],
        }
    )
    assert kind.expands is not None
    children = kind.expands(params)
    assert children == [
        ("assign_pod", {"namespace": "ns", "pod": "p-1", "business": "prod", "drain_timeout_seconds": 120.0}),
        (
            "assign_pod",
            {"namespace": "ns", "pod": "p-2", "business": "unassigned", "drain_timeout_seconds": 120.0},
        ),
    ]
    with pytest.raises(ValidationError, match="once"):
        kind.params.model_validate({"moves": [{"pod": "p", "business": "a"}, {"pod": "p", "business": "b"}]})


def test_parse_targets() -> None:
    assert parse_targets("prod:3, test:1") == {"prod": 3, "test": 1}
    for bad in ("prod", "prod:x", ":3", "prod:-1"):
        with pytest.raises(Invalid):
            parse_targets(bad)
