"""kubesim expands a container's command, args and env values as the kubelet does, so what Podium doubled
(`kube.resources.literal`) reaches the simulated process exactly as the user typed it."""

from __future__ import annotations

import pytest
from podium_kubesim.engines import detect
from podium_kubesim.expansion import container_argv, container_env, expand
from podium_shared.kube.resources import literal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$$(HF_TOKEN)", "$(HF_TOKEN)"),
        ("$(A)-$(B)", "a-$(B)"),  # an undefined variable stays as written
        ("$$$(A)", "$a"),
        ("cost $5 $", "cost $5 $"),
        ("$(unclosed", "$(unclosed"),
        ("$$$$", "$$"),
        ("", ""),
    ],
)
def test_expand_is_the_kubelets(text: str, expected: str) -> None:
    assert expand(text, {"A": "a"}) == expected


@pytest.mark.parametrize("typed", ["$(HOME)", "a$b$(c)$$", "`id` $(curl evil)", "$", "$$(x)"])
def test_what_podium_doubles_arrives_as_typed(typed: str) -> None:
    assert expand(literal(typed), {"HOME": "/root", "c": "see", "x": "ex"}) == typed


def test_env_values_see_earlier_ones_and_argv_sees_the_env() -> None:
    container = {
        "command": ["serve", "--token=$(TOKEN)", literal("--template={{ $(TOKEN) }}")],
        "args": ["--port", "$(PORT)"],
        "env": [
            {"name": "PORT", "value": "8000"},
            {"name": "TOKEN", "value": "t-$(PORT)-$(LATER)"},
            {"name": "LATER", "value": "x"},
            {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        ],
    }
    assert container_env(container) == {
        "PORT": "8000",
        "TOKEN": "t-8000-$(LATER)",
        "LATER": "x",
        "SECRET": "",
    }
    assert container_argv(container) == [
        "serve", "--token=t-8000-$(LATER)", "--template={{ $(TOKEN) }}", "--port", "8000",
    ]  # fmt: skip


def test_serving_engine_args_stored_doubled_reach_the_engine_as_typed() -> None:
    pod = {
        "spec": {
            "containers": [
                {
                    "name": "vllm",
                    "image": "vllm/vllm-openai:latest",
                    "args": ["--model", "Qwen/Qwen3-0.6B", "--served-model-name", literal("q$(x)")],
                }
            ]
        }
    }
    assert detect(pod).model == "q$(x)"
