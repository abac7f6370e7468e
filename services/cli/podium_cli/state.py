"""Options every user command shares (`--server`, `--token`, `-o`), carried on the typer context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from podium_cli.client import ApiClient, resolve_connection
from podium_cli.output import OutputFormat


@dataclass
class CliState:
    server: str | None = None
    token: str | None = None
    output: OutputFormat = OutputFormat.table


OutputOpt = Annotated[
    OutputFormat | None,
    typer.Option("--output", "-o", help="table (default), json or yaml", case_sensitive=False),
]


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def client(ctx: typer.Context) -> ApiClient:
    st = state(ctx)
    return ApiClient(resolve_connection(st.server, st.token))


def output_format(ctx: typer.Context, local: OutputFormat | None) -> OutputFormat:
    return local or state(ctx).output
