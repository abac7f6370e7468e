"""Parse a pasted engine command line into structured deploy fields.

`shlex.split` turns the text into words exactly as a POSIX shell would *tokenise* it (nothing is expanded
or executed: `$(...)` and backticks stay literal characters), then a real `argparse` parser per engine reads
the flags Podium understands. Flags it does not know are kept, in order, as separate argv items for the
container. Anything that is not a flag or a flag's value is refused, with the offending token named."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, field
from typing import NoReturn

from podium_shared.errors import Invalid
from podium_shared.serving.engines import EngineName
from podium_shared.serving.naming import validate_model_id

COMMAND_LINE_MAX = 8192
ARG_MAX = 1024
MAX_PARALLEL = 64


@dataclass(frozen=True)
class ParsedCommand:
    engine: EngineName
    model: str
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    max_model_len: int | None = None
    port: int | None = None
    served_model_name: str | None = None
    extra_args: list[str] = field(default_factory=list)

    @property
    def gpus_per_replica(self) -> int:
        return self.tensor_parallel * self.pipeline_parallel


class _Parser(argparse.ArgumentParser):
    """argparse that raises Invalid instead of printing usage and exiting the worker."""

    def error(self, message: str) -> NoReturn:
        raise Invalid(f"invalid command line: {message}", details={"field": "command_line"})


def _parser(prog: str) -> _Parser:
    return _Parser(prog=prog, add_help=False, allow_abbrev=False, exit_on_error=False)


def _int_in(low: int, high: int) -> type[int]:
    def convert(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(text)
        return value

    convert.__name__ = f"integer {low}..{high}"
    return convert  # type: ignore[return-value]


def _common(p: _Parser, *, tp: tuple[str, ...], pp: tuple[str, ...], max_len: tuple[str, ...]) -> None:
    p.add_argument(*tp, dest="tp", type=_int_in(1, MAX_PARALLEL), default=1)
    p.add_argument(*pp, dest="pp", type=_int_in(1, MAX_PARALLEL), default=1)
    p.add_argument(*max_len, dest="max_len", type=_int_in(1, 10_000_000), default=None)
    p.add_argument("--port", dest="port", type=_int_in(1, 65535), default=None)
    # Podium binds 0.0.0.0 itself; a pasted --host is accepted and dropped.
    p.add_argument("--host", dest="host", default=None)
    p.add_argument("--served-model-name", dest="served", default=None)


def _vllm_parser(prog: str, *, positional: bool) -> _Parser:
    p = _parser(prog)
    if positional:
        p.add_argument("model_pos", nargs="?", default=None)
    p.add_argument("--model", dest="model", default=None)
    _common(
        p,
        tp=("--tensor-parallel-size", "-tp"),
        pp=("--pipeline-parallel-size", "-pp"),
        max_len=("--max-model-len",),
    )
    return p


def _sglang_parser() -> _Parser:
    p = _parser("sglang.launch_server")
    p.add_argument("--model-path", "--model", dest="model", default=None)
    _common(
        p,
        tp=("--tp-size", "--tp", "--tensor-parallel-size"),
        pp=("--pp-size", "--pp", "--pipeline-parallel-size"),
        max_len=("--context-length",),
    )
    return p


def _check_text(text: str) -> None:
    if len(text) > COMMAND_LINE_MAX:
        raise Invalid(
            f"command line longer than {COMMAND_LINE_MAX} characters", details={"field": "command_line"}
        )


def _check_extras(extras: list[str]) -> list[str]:
    """Unknown flags pass through; a bare word is only accepted as the value of the flag before it."""
    previous_takes_value = False
    for token in extras:
        bad = len(token) > ARG_MAX or any(ord(c) < 32 or ord(c) == 127 for c in token)
        if token == "--":  # noqa: S105 - an argv word, not a password
            bad = True
        if not bad and not token.startswith("-") and not previous_takes_value:
            bad = True
        if bad:
            raise Invalid(
                f"invalid command line: unexpected token {token[:80]!r}",
                details={"field": "command_line", "token": token[:200]},
            )
        previous_takes_value = token.startswith("-") and "=" not in token
    return extras


def parse_command_line(text: str) -> ParsedCommand:
    _check_text(text)
    try:
        words = shlex.split(text, comments=False, posix=True)
    except ValueError as exc:  # "No closing quotation" / "No escaped character"
        raise Invalid(f"invalid command line: {exc}", details={"field": "command_line"}) from None
    if not words:
        raise Invalid("empty command line", details={"field": "command_line"})

    head, rest = words[0], words[1:]
    if head == "vllm" and rest[:1] == ["serve"]:
        return _from_vllm(_vllm_parser("vllm serve", positional=True), rest[1:])
    if head in ("python", "python3") and len(rest) >= 2 and rest[0] == "-m":
        module, rest = rest[1], rest[2:]
        if module == "vllm.entrypoints.openai.api_server":
            return _from_vllm(_vllm_parser(module, positional=False), rest)
        if module == "sglang.launch_server":
            return _from_sglang(rest)
        raise Invalid(
            f"invalid command line: unknown engine module {module[:80]!r}",
            details={"field": "command_line", "token": module[:200]},
        )
    if head == "ollama" and rest[:1] in (["run"], ["pull"]):
        if len(rest) != 2:
            token = rest[2] if len(rest) > 2 else rest[0]
            raise Invalid(
                f"invalid command line: expected `ollama run MODEL`, unexpected token {token[:80]!r}",
                details={"field": "command_line", "token": token[:200]},
            )
        return ParsedCommand(engine=EngineName.ollama, model=_model(rest[1]))
    raise Invalid(
        f"invalid command line: unexpected token {head[:80]!r}; expected `vllm serve`, "
        "`python -m vllm.entrypoints.openai.api_server`, `python -m sglang.launch_server` or `ollama run`",
        details={"field": "command_line", "token": head[:200]},
    )


def _model(value: str | None) -> str:
    if not value:
        raise Invalid("invalid command line: no model given", details={"field": "command_line"})
    try:
        return validate_model_id(value)
    except Invalid as exc:
        raise Invalid(
            f"invalid command line: {exc.message}", details={"field": "command_line", "token": value[:200]}
        ) from None


def _parse(parser: _Parser, words: list[str]) -> tuple[argparse.Namespace, list[str]]:
    try:
        ns, extras = parser.parse_known_args(words)
    except argparse.ArgumentError as exc:
        raise Invalid(f"invalid command line: {exc}", details={"field": "command_line"}) from None
    return ns, _check_extras(extras)


def _from_vllm(parser: _Parser, words: list[str]) -> ParsedCommand:
    ns, extras = _parse(parser, words)
    positional = getattr(ns, "model_pos", None)
    if positional and ns.model and positional != ns.model:
        raise Invalid(
            f"invalid command line: model given twice ({positional[:80]!r} and {ns.model[:80]!r})",
            details={"field": "command_line", "token": positional[:200]},
        )
    return _openai_server(EngineName.vllm, positional or ns.model, ns, extras)


def _from_sglang(words: list[str]) -> ParsedCommand:
    ns, extras = _parse(_sglang_parser(), words)
    return _openai_server(EngineName.sglang, ns.model, ns, extras)


def _openai_server(
    engine: EngineName, model: str | None, ns: argparse.Namespace, extras: list[str]
) -> ParsedCommand:
    # vLLM's and SGLang's parsers give their flags the same destinations, so one mapping serves both.
    return ParsedCommand(
        engine=engine,
        model=_model(model),
        tensor_parallel=ns.tp,
        pipeline_parallel=ns.pp,
        max_model_len=ns.max_len,
        port=ns.port,
        served_model_name=_served(ns.served),
        extra_args=extras,
    )


def _served(value: str | None) -> str | None:
    return None if value is None else _model(value)
