"""`podium clusters add|list`: the cluster registry (admin adds, everyone lists)."""

# ruff: noqa: PLR0917 - typer maps each parameter to an option; they are never called positionally.

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from podium_cli.output import Column, render, render_page
from podium_cli.state import OutputOpt, client, output_format

app = typer.Typer(help="The clusters Podium manages.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="clusters")


@app.command("add")
def add_cluster(
    ctx: typer.Context,
    name: str,
    kubeconfig: Annotated[Path | None, typer.Option(help="kubeconfig path as the server sees it")] = None,
    context: Annotated[str | None, typer.Option(help="kubeconfig context")] = None,
    eks_cluster: Annotated[str | None, typer.Option(help="EKS cluster name")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region of the EKS cluster")] = None,
    output: OutputOpt = None,
) -> None:
    body = {
        "name": name,
        "kubeconfig_path": str(kubeconfig) if kubeconfig else None,
        "context": context,
        "eks_cluster_name": eks_cluster,
        "region": region,
    }
    with client(ctx) as api:
        render(api.post("/clusters", {k: v for k, v in body.items() if v is not None}),
               output_format(ctx, output))  # fmt: skip


def _age(value: object) -> str:
    return "-" if value is None else f"{float(value):.1f}"  # type: ignore[arg-type]


CLUSTER_COLUMNS = [
    Column("NAME", "name"),
    Column("CONTEXT", "context"),
    Column("EKS CLUSTER", "eks_cluster_name"),
    Column("REGION", "region"),
    Column("WATCHED", "watched"),
    Column("SNAPSHOT AGE (S)", "snapshot_age_seconds", _age),
]


@app.command("list")
def list_clusters(ctx: typer.Context, output: OutputOpt = None) -> None:
    with client(ctx) as api:
        page = api.get("/clusters")
    render_page(page, output_format(ctx, output), CLUSTER_COLUMNS)
