"""`podium audit list|export|verify`: who did what, when, to which resource, with what outcome."""

# ruff: noqa: PLR0917 - typer maps each parameter to an option; they are never called positionally.

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from podium_cli.client import CliError, ExitCode
from podium_cli.output import Column, render, render_page
from podium_cli.state import OutputOpt, client, output_format

app = typer.Typer(help="Query, export and verify the audit log.", no_args_is_help=True)


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audit")


Actor = Annotated[str | None, typer.Option(help="username")]
Action = Annotated[str | None, typer.Option(help="e.g. command.accepted, operation.succeeded")]
Resource = Annotated[str | None, typer.Option(help="resource name")]
Outcome = Annotated[str | None, typer.Option(help="e.g. success, denied, invalid")]
Since = Annotated[str | None, typer.Option(help="ISO 8601 time (UTC)")]
Until = Annotated[str | None, typer.Option(help="ISO 8601 time (UTC)")]
ClusterOpt = Annotated[str | None, typer.Option("--cluster", help="cluster name")]
OperationOpt = Annotated[str | None, typer.Option("--operation", help="operation id")]


def _filters(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None}


AUDIT_COLUMNS = [
    Column("TIME", "ts"),
    Column("ACTOR", "actor"),
    Column("ROLE", "role"),
    Column("ACTION", "action"),
    Column("OUTCOME", "outcome"),
    Column("CLUSTER", "cluster"),
    Column("NAMESPACE", "namespace"),
    Column("RESOURCE", "resource_name"),
    Column("OPERATION", "operation_id"),
]


@app.command("list")
def list_events(
    ctx: typer.Context,
    actor: Actor = None,
    action: Action = None,
    resource: Resource = None,
    outcome: Outcome = None,
    since: Since = None,
    until: Until = None,
    cluster: ClusterOpt = None,
    operation: OperationOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    cursor: Annotated[str | None, typer.Option()] = None,
    output: OutputOpt = None,
) -> None:
    filters = _filters(actor=actor, action=action, resource=resource, outcome=outcome, since=since,
                       until=until, cluster=cluster, operation_id=operation, limit=limit,
                       cursor=cursor)  # fmt: skip
    with client(ctx) as api:
        page = api.get("/audit", **filters)
    render_page(page, output_format(ctx, output), AUDIT_COLUMNS)


@app.command("export")
def export_events(
    ctx: typer.Context,
    format: Annotated[ExportFormat, typer.Option("--format", "-F")] = ExportFormat.jsonl,
    to: Annotated[Path | None, typer.Option("--to", help="write here instead of stdout")] = None,
    actor: Actor = None,
    action: Action = None,
    resource: Resource = None,
    outcome: Outcome = None,
    since: Since = None,
    until: Until = None,
    cluster: ClusterOpt = None,
    operation: OperationOpt = None,
) -> None:
    """Stream the matching events as CSV or JSON Lines (the server streams; nothing is held in memory)."""
    filters = _filters(format=format.value, actor=actor, action=action, resource=resource,
                       outcome=outcome, since=since, until=until, cluster=cluster,
                       operation_id=operation)  # fmt: skip
    with client(ctx) as api, api.stream("/audit/export", **filters) as resp:
        sink = to.open("wb") if to else sys.stdout.buffer
        try:
            for chunk in resp.iter_bytes():
                sink.write(chunk)
        finally:
            if to:
                sink.close()
            else:
                sink.flush()


@app.command("verify")
def verify_chain(ctx: typer.Context, output: OutputOpt = None) -> None:
    """Check the hash chain; exits 1 and names the first broken link if it does not verify."""
    with client(ctx) as api:
        report = api.get("/audit/verify")
    render(report, output_format(ctx, output))
    if isinstance(report, dict) and report.get("ok") is False:
        raise CliError(
            f"the audit chain breaks at event {report.get('broken_at')}: {report.get('reason')}",
            ExitCode.failed,
            code="audit_broken",
        )
