import re

import pytest
from podium_shared.errors import Invalid
from podium_shared.serving import naming

DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


@pytest.mark.parametrize(
    "model_id",
    [
        "Qwen/Qwen3-0.6B",
        "Qwen/Qwen3-06B",
        "qwen/qwen3-0-6b",
        "meta-llama/Llama-3.1-8B-Instruct",
        "llama3",
        "llama3:8b",
        "0-hero/Matter-0.1-7B",
        "/models/qwen",
        "a" * 256,
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B-really-long-suffix-to-force-truncation",
    ],
)
def test_tag_is_a_valid_short_label_that_leaves_room_for_pod_suffixes(model_id: str) -> None:
    tag = naming.model_tag(model_id)
    assert DNS_LABEL.fullmatch(tag)
    assert len(tag) <= naming.TAG_MAX
    # engine prefix + ReplicaSet hash + pod suffix still fit a 63-char label
    assert len(naming.deployment_name("sglang", tag)) + len("-7d9f8c6b5f-abcde") <= 63
    assert naming.model_tag(model_id) == tag  # deterministic


def test_known_tag() -> None:
    assert naming.model_tag("Qwen/Qwen3-0.6B").startswith("qwen-qwen3-0-6b-")


def test_ids_that_slug_alike_never_collide() -> None:
    ids = ["Qwen/Qwen3-0.6B", "Qwen/Qwen3-06B", "qwen/qwen3-0-6b", "Qwen/Qwen3_0.6B", "Qwen/Qwen3-0.6b"]
    tags = {naming.model_tag(i) for i in ids}
    assert len(tags) == len(ids)


@pytest.mark.parametrize(
    "bad",
    ["", "-rf", "a;b", "$(id)", "`id`", "a b", "a\nb", "x: {y: 1}", "a" * 257, "'quoted'", "a|b", "--model"],
)
def test_hostile_model_ids_are_rejected(bad: str) -> None:
    with pytest.raises(Invalid):
        naming.model_tag(bad)


def test_names_and_businesses() -> None:
    assert naming.validate_name("prod", field="name") == "prod"
    for bad in ["Prod", "1prod", "prod-", "pr_od", "a" * 47, "a;b"]:
        with pytest.raises(Invalid):
            naming.validate_name(bad, field="name")
    assert naming.validate_pod_name("vllm-x-7d9f8c6b5f-abcde")
    with pytest.raises(Invalid):
        naming.validate_business("a" * 31)
    name = naming.business_service_name("v" * 46, "b" * 30)
    assert len(name) <= 63
    assert DNS_LABEL.fullmatch(name)
