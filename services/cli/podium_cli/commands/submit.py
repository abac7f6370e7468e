"""`podium command <kind>`: submit any command kind, the generic way in to `POST /api/v1/commands`."""

# ruff: noqa: PLR0917 - typer maps each parameter to an option; they are never called positionally.

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from podium_cli.client import CliError, ExitCode
from podium_cli.commands.ops import finish, wait_for
from podium_cli.output import render
from podium_cli.state import OutputOpt, client, output_format


def register(root: typer.Typer) -> None:
    root.command("command")(submit)


def parse_param(raw: str) -> tuple[list[str], Any]:
    """`key=value`: the value is JSON when it parses as JSON (3, true, null, {...}, [...]), else a string.
    A dotted key nests: `labels.team=ml` gives {"labels": {"team": "ml"}}."""
    key, sep, value = raw.partition("=")
    if not sep or not key:
        raise CliError(f"--param {raw!r} is not key=value", ExitCode.usage, code="usage")
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    return key.split("."), parsed


def merge_params(base: dict[str, Any], raw_params: list[str]) -> dict[str, Any]:
    params = dict(base)
    for raw in raw_params:
        path, value = parse_param(raw)
        node = params
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise CliError(f"--param {raw!r}: {part} is not an object", ExitCode.usage, code="usage")
            node = child
        node[path[-1]] = value
    return params


def load_params_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text() if str(path) != "-" else typer.get_text_stream("stdin").read()
        data = yaml.safe_load(text)  # YAML is a superset of JSON: either file works
    except (OSError, yaml.YAMLError) as exc:
        raise CliError(f"cannot read params from {path}: {exc}", ExitCode.usage, code="usage") from None
    if not isinstance(data, dict):
        raise CliError(f"{path} must hold an object of params", ExitCode.usage, code="usage")
    return data


def submit(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="scale, label, annotate, delete, apply, bulk, …")],
    cluster: Annotated[str, typer.Option("--cluster", "-c", help="registered cluster name")] = "local",
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="key=value (JSON values; dotted keys nest)")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="params as a JSON or YAML object (- for stdin)")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="resubmitting with the same key returns the same operation")
    ] = None,
    wait: Annotated[bool, typer.Option(help="follow the operation until it finishes")] = False,
    timeout: Annotated[float, typer.Option(help="with --wait: give up after this many seconds")] = 0,
    output: OutputOpt = None,
) -> None:
    """Submit a command; prints the accepted operation (or, with --wait, the finished one)."""
    params = merge_params(load_params_file(file) if file else {}, param or [])
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    fmt = output_format(ctx, output)
    with client(ctx) as api:
        op = api.post("/commands", {"kind": kind, "cluster": cluster, "params": params}, headers=headers)
        if not wait:
            render(op, fmt)
            return
        final = wait_for(api, str(op["id"]), timeout=timeout, interval=0.25)
    finish(final, fmt)
