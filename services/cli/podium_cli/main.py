"""The `podium` command: server commands, `podium up`, and the user commands that talk to the API."""

from __future__ import annotations

import importlib
from typing import Annotated

import typer
from typer.core import TyperGroup

from podium_cli.client import CliError
from podium_cli.output import OutputFormat
from podium_cli.state import CliState

# Every module here exposes `register(root)`. Adding a command area = adding its module name here.
COMMAND_MODULES = (
    "podium_cli.servers",
    "podium_cli.commands.login",
    "podium_cli.commands.submit",
    "podium_cli.commands.ops",
    "podium_cli.commands.users",
    "podium_cli.commands.clusters",
    "podium_cli.commands.get",
    "podium_cli.commands.audit",
    "podium_cli.commands.serving",
    "podium_cli.commands.runs",
)

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


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # An area whose module has not landed yet; any other missing import stays loud.
            if exc.name != name:
                raise
            continue
        module.register(app)


_register_all()


def main() -> None:
    app()
