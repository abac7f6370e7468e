"""`podium ops list|get|cancel|watch`: follow and control operations."""

# ruff: noqa: PLR0917 - typer maps each parameter to an option; they are never called positionally.

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from podium_cli.client import ApiClient, CliError, ExitCode
from podium_cli.follow import SAFETY_REREAD_SECONDS, operation_events
from podium_cli.output import Column, OutputFormat, info, render, render_page
from podium_cli.state import OutputOpt, client, output_format

app = typer.Typer(help="List, inspect, cancel and follow operations.", no_args_is_help=True)

FINISHED = {"succeeded", "failed", "cancelled"}


def _progress(value: Any) -> str:
    if not isinstance(value, dict) or not value.get("total"):
        return "-"
    done = sum(int(value.get(k) or 0) for k in ("succeeded", "failed", "cancelled"))
    return f"{done}/{value['total']}"


def _error(value: Any) -> str:
    if not isinstance(value, dict):
        return "-"
    return f"{value.get('code')}: {value.get('message')}"


OPERATION_COLUMNS = [
    Column("ID", "id"),
    Column("KIND", "kind"),
    Column("CLUSTER", "cluster"),
    Column("STATUS", "status"),
    Column("ATTEMPTS", "attempts"),
    Column("PROGRESS", "progress", _progress),
    Column("REQUESTED BY", "requested_by"),
    Column("CREATED", "created_at"),
    Column("ERROR", "error", _error),
]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ops")


@app.command("list")
def list_ops(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="queued|running|succeeded|failed|cancelled")] = None,
    kind: Annotated[str | None, typer.Option()] = None,
    cluster: Annotated[str | None, typer.Option()] = None,
    requested_by: Annotated[str | None, typer.Option()] = None,
    parent: Annotated[str | None, typer.Option(help="children of this bulk operation")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of a previous page")] = None,
    output: OutputOpt = None,
) -> None:
    with client(ctx) as api:
        page = api.get(
            "/operations",
            status=status,
            kind=kind,
            cluster=cluster,
            requested_by=requested_by,
            parent_id=parent,
            limit=limit,
            cursor=cursor,
        )
    render_page(page, output_format(ctx, output), OPERATION_COLUMNS)


@app.command("get")
def get_op(ctx: typer.Context, op_id: str, output: OutputOpt = None) -> None:
    with client(ctx) as api:
        render(api.get(f"/operations/{op_id}"), output_format(ctx, output))


@app.command("cancel")
def cancel_op(ctx: typer.Context, op_id: str, output: OutputOpt = None) -> None:
    """Cancel a queued operation, or the not-yet-started children of a bulk."""
    with client(ctx) as api:
        render(api.post(f"/operations/{op_id}/cancel"), output_format(ctx, output))


@app.command("watch")
def watch_op(
    ctx: typer.Context,
    op_id: str,
    timeout: Annotated[float, typer.Option(help="give up after this many seconds (0 = never)")] = 0,
    interval: Annotated[float, typer.Option(min=0.05)] = 0.5,
    output: OutputOpt = None,
) -> None:
    """Follow an operation until it finishes; exits 0 if it succeeded, 1 if it failed or was cancelled."""
    with client(ctx) as api:
        op = wait_for(api, op_id, timeout=timeout, interval=interval)
    finish(op, output_format(ctx, output))


def submit_command(
    ctx: typer.Context, kind: str, cluster: str, params: dict[str, Any], *, wait: bool, timeout: float,
    output: OutputFormat | None,
) -> None:  # fmt: skip
    """POST one command; print its accept warnings; then the accepted operation, or (with `wait`) follow
    it to its end and fail the command line when it did not succeed."""
    fmt = output_format(ctx, output)
    with client(ctx) as api:
        op = api.post("/commands", {"kind": kind, "cluster": cluster, "params": params})
        for warning in (op.get("result") or {}).get("accept_warnings") or []:
            info(f"warning: {warning}")
        if not wait:
            render(op, fmt)
            return
        final = wait_for(api, str(op["id"]), timeout=timeout, interval=0.25)
    finish(final, fmt)


def wait_for(api: ApiClient, op_id: str, *, timeout: float, interval: float) -> dict[str, Any]:
    """Follows the operation until it is finished, printing each change of status or progress to stderr.

    Woken by the WebSocket's operation events when the server offers them, else polling every
    `interval` seconds; every state shown is read from the REST API (see podium_cli.follow)."""
    deadline = time.monotonic() + timeout if timeout > 0 else None
    op: dict[str, Any] = api.get(f"/operations/{op_id}")
    if op.get("status") in FINISHED:
        info(_describe(op))
        return op
    with operation_events(api.conn, str(op.get("cluster"))) as events:
        last = ""
        while True:
            line = _describe(op)
            if line != last:
                info(line)
                last = line
            if op.get("status") in FINISHED:
                return op
            if deadline is not None and time.monotonic() >= deadline:
                raise CliError(
                    f"operation {op_id} still {op.get('status')} after {timeout:g}s",
                    ExitCode.unavailable,
                    code="timeout",
                )
            live = events is not None and events.alive
            pause = max(interval, SAFETY_REREAD_SECONDS) if live else interval
            if deadline is not None:
                pause = min(pause, max(deadline - time.monotonic(), 0.0))
            if events is not None and live:
                events.wait(op_id, pause)
            else:
                time.sleep(pause)
            op = api.get(f"/operations/{op_id}")


def _describe(op: dict[str, Any]) -> str:
    parts = [f"{op.get('kind')} {op.get('id')}: {op.get('status')}"]
    progress = op.get("progress")
    if isinstance(progress, dict) and progress.get("total"):
        parts.append(
            f"{progress.get('succeeded', 0)} succeeded, {progress.get('failed', 0)} failed, "
            f"{progress.get('cancelled', 0)} cancelled of {progress['total']}"
        )
    if isinstance(progress, dict) and progress.get("percent") is not None:
        parts.append(f"{progress['percent']} %")
    if op.get("attempts", 0) > 1:
        parts.append(f"attempt {op['attempts']}")
    return " — ".join(parts)


def finish(op: dict[str, Any], fmt: OutputFormat) -> None:
    render(op, fmt)
    if op.get("status") != "succeeded":
        error = op.get("error") or {}
        raise CliError(
            f"operation {op.get('id')} {op.get('status')}: {error.get('message', 'no message')}",
            ExitCode.failed,
            code=str(error.get("code") or op.get("status")),
        )
