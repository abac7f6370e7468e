"""The `podium` command: server commands, `podium up`, and the user commands that talk to the API."""

from __future__ import annotations

from typing import Annotated

import typer
from typer.core import TyperGroup

from podium_cli import servers
from podium_cli.client import CliError
from podium_cli.commands import (
    audit,
    clusters,
    get,
    infra,
    login,
    ops,
    serving,
    submit,
    telemetry,
    training,
    users,
)
from podium_cli.output import OutputFormat
from podium_cli.state import CliState

# Every module here exposes `register(root)`. Adding a command area = importing it and adding it here.
COMMAND_MODULES = (
    servers, login, submit, ops, users, clusters, get, audit, serving, training, telemetry, infra,
)  # fmt: skip

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 operation failed or cancelled, 2 usage or validation error, 3 not found, "
    "4 not authenticated or forbidden, 5 server unavailable (unreachable, 5xx, rate limited)."
)


class PodiumGroup(TyperGroup):
    """Turns a CliError raised anywhere below into its message on stderr and its exit code."""

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except CliError as exc:
            exc.show()
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    name="podium",
    cls=PodiumGroup,
    help="Podium: LLM serving and training on Kubernetes GPU clusters.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    server: Annotated[
        str | None, typer.Option(envvar="PODIUM_URL", help="API address (env PODIUM_URL)")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="PODIUM_TOKEN", help="API token (env PODIUM_TOKEN)")
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--output", "-o", case_sensitive=False, help="table, json or yaml")
    ] = OutputFormat.table,
) -> None:
    ctx.obj = CliState(server=server, token=token, output=output)


for _module in COMMAND_MODULES:
    _module.register(app)


def main() -> None:
    app()
