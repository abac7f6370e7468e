"""`podium users create|list` (admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from podium_cli.output import Column, OutputFormat, info, render, render_page
from podium_cli.state import OutputOpt, client, output_format

app = typer.Typer(help="Manage users and their API tokens (admin).", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="users")


@app.command("create")
def create_user(
    ctx: typer.Context,
    username: str,
    role: Annotated[str, typer.Option(help="viewer, operator or admin")] = "viewer",
    namespace: Annotated[
        list[str] | None, typer.Option("--namespace", "-n", help="limit to these namespaces (repeat)")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Create a user; its token is shown once, here."""
    body = {"username": username, "role": role, "namespaces": namespace or None}
    with client(ctx) as api:
        created = api.post("/users", body)
    fmt = output_format(ctx, output)
    render(created, fmt)
    if fmt is OutputFormat.table:
        info("The token is shown only once; store it now.")


USER_COLUMNS = [
    Column("USERNAME", "username"),
    Column("ROLE", "role"),
    Column("NAMESPACES", "namespaces"),
    Column("CREATED", "created_at"),
]


@app.command("list")
def list_users(ctx: typer.Context, output: OutputOpt = None) -> None:
    with client(ctx) as api:
        page = api.get("/users")
    render_page(page, output_format(ctx, output), USER_COLUMNS)
