import pytest
from podium_shared.errors import Invalid
from podium_shared.serving.cmdline import parse_command_line
from podium_shared.serving.engines import EngineName


def test_vllm_serve() -> None:
    p = parse_command_line("vllm serve Qwen/Qwen3-0.6B --tensor-parallel-size 2 --max-model-len 8192")
    assert p.engine is EngineName.vllm
    assert p.model == "Qwen/Qwen3-0.6B"
    assert p.tensor_parallel == 2
    assert p.gpus_per_replica == 2
    assert p.max_model_len == 8192
    assert p.extra_args == []


def test_vllm_api_server_with_equals_and_unknown_flags_kept_in_order() -> None:
    p = parse_command_line(
        "python -m vllm.entrypoints.openai.api_server --model=Qwen/Qwen3-0.6B -tp 2 -pp 2 "
        "--gpu-memory-utilization 0.9 --enable-prefix-caching --trust-remote-code --dtype=bfloat16"
    )
    assert p.model == "Qwen/Qwen3-0.6B"
    assert p.gpus_per_replica == 4
    assert p.extra_args == [
        "--gpu-memory-utilization",
        "0.9",
        "--enable-prefix-caching",
        "--trust-remote-code",
        "--dtype=bfloat16",
    ]


def test_sglang() -> None:
    p = parse_command_line(
        "python3 -m sglang.launch_server --model-path meta-llama/Llama-3.1-8B-Instruct --tp 2 --port 30001"
    )
    assert p.engine is EngineName.sglang
    assert p.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert p.gpus_per_replica == 2
    assert p.port == 30001


def test_ollama() -> None:
    p = parse_command_line("ollama run llama3")
    assert p.engine is EngineName.ollama
    assert p.model == "llama3"


def test_quoted_values_stay_single_arguments() -> None:
    p = parse_command_line(
        "vllm serve m/x --chat-template '{% for m in messages %}{{ m }} $(id) `id`{% endfor %}'"
    )
    assert p.extra_args == ["--chat-template", "{% for m in messages %}{{ m }} $(id) `id`{% endfor %}"]


@pytest.mark.parametrize(
    ("line", "token"),
    [
        ("vllm serve Qwen/Qwen3-0.6B --tensor-parallel-size two", "two"),
        ("vllm serve Qwen/Qwen3-0.6B ; rm -rf /", ";"),
        ("vllm serve Qwen/Qwen3-0.6B\nrm -rf /", "rm"),
        ("vllm serve $(curl evil) --x", "evil)"),
        ("vllm serve `id`", "`id`"),
        ("kubectl delete ns default", "kubectl"),
        ("python -m evil.module", "evil.module"),
        ("ollama run llama3 extra", "extra"),
        ("vllm serve -- --model x", "'x'"),
        ("vllm serve -- --model", "--model"),
        ("vllm serve 'unterminated", "closing quotation"),
        ("vllm serve Qwen/Qwen3-0.6B --tensor-parallel-size 1000", "1000"),
        ("vllm serve a/b --model c/d", "a/b"),
        ("vllm serve a/b --max-model-len", "--max-model-len"),
        ("", "empty"),
    ],
)
def test_malformed_lines_are_invalid_and_name_the_bad_token(line: str, token: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_command_line(line)
    assert caught.value.status == 422
    assert token in caught.value.message


def test_control_characters_in_values_are_refused() -> None:
    with pytest.raises(Invalid):
        parse_command_line("vllm serve a/b --x 'a\nkind: Secret'")


def test_over_long_lines_are_refused() -> None:
    with pytest.raises(Invalid):
        parse_command_line("vllm serve a/b " + "--x " * 3000)
