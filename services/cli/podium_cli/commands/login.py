"""`podium login`: check a server and token, then remember them for later commands."""

from __future__ import annotations

from typing import Annotated

import typer

from podium_cli.client import ApiClient, Connection, resolve_connection, write_config_file
from podium_cli.output import info
from podium_cli.state import state


def register(root: typer.Typer) -> None:
    root.command("login")(login)


def login(
    ctx: typer.Context,
    server: Annotated[str | None, typer.Option(help="e.g. http://127.0.0.1:8000")] = None,
    token: Annotated[
        str | None, typer.Option(help="API token (prompted for when not given)", envvar="PODIUM_TOKEN")
    ] = None,
) -> None:
    st = state(ctx)
    conn = resolve_connection(server or st.server, token or st.token)
    secret = conn.token or typer.prompt("API token", hide_input=True)
    # One authenticated read proves both the address and the token before anything is stored.
    with ApiClient(Connection(conn.server, secret)) as api:
        me = api.get("/me")
    path = write_config_file(conn.server, secret)
    info(f"logged in to {conn.server} as {me.get('username')} ({me.get('role')}); saved to {path}")
