"""`podium runs list|get|compare|delete`: training history from MLflow, through the API."""

# ruff: noqa: PLR0917 - typer maps each parameter to an option; they are never called positionally.

from __future__ import annotations

from typing import Annotated, Any

import typer

from podium_cli.client import CliError, ExitCode
from podium_cli.commands.ops import finish, wait_for
from podium_cli.output import Column, OutputFormat, info, render
from podium_cli.state import OutputOpt, client, output_format

app = typer.Typer(help="Training runs from MLflow: list, inspect, compare, delete.", no_args_is_help=True)

ClusterOpt = Annotated[
    str | None, typer.Option("--cluster", "-c", help="use this cluster's tracking server (default: global)")
]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="runs")


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return ""
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _tag(key: str) -> Any:
    return lambda tags: str((tags or {}).get(key, ""))


def _num(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else ""


def run_columns(tag_columns: list[str]) -> list[Column]:
    """The history table: the old tool's columns, with the page's tag columns in their order."""
    return [
        Column("EXPERIMENT", "experiment"),
        Column("RUN", "run_name"),
        Column("STATUS", "status"),
        # Tag keys may contain dots (podium.job): look them up in the tags dict, not by dotted path.
        *[Column(tag.upper(), "tags", _tag(tag)) for tag in tag_columns],
        Column("SAMPLES/S", "metrics.train_samples_per_second", _num),
        Column("STEPS/S", "metrics.train_steps_per_second", _num),
        Column("START", "start_time"),
        Column("DURATION", "duration_seconds", _duration),
        Column("ID", "id"),
    ]


def _tags(raw: list[str] | None) -> dict[str, str]:
    out = {}
    for item in raw or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--tag {item!r} is not key=value", ExitCode.usage, code="usage")
        out[f"tag.{key}"] = value
    return out


@app.command("list")
def list_runs(
    ctx: typer.Context,
    experiment: Annotated[list[str] | None, typer.Option("--experiment", "-e", help="name or id")] = None,
    status: Annotated[str | None, typer.Option(help="RUNNING, FINISHED, FAILED, KILLED, SCHEDULED")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="key=value (repeatable)")] = None,
    text: Annotated[str | None, typer.Option(help="run-name substring")] = None,
    order_by: Annotated[str | None, typer.Option(help="e.g. -start_time, metrics.loss")] = None,
    deleted: Annotated[bool, typer.Option(help="list deleted runs instead")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    cursor: Annotated[str | None, typer.Option()] = None,
    cluster: ClusterOpt = None,
    output: OutputOpt = None,
) -> None:
    """Runs across experiments, newest first, with their tags as columns."""
    params: dict[str, Any] = {
        k: v
        for k, v in {"experiment": experiment, "status": status, "text": text, "order_by": order_by,
                     "limit": limit, "cursor": cursor, "cluster": cluster,
                     "view": "deleted" if deleted else None}.items()
        if v is not None
    }  # fmt: skip
    params.update(_tags(tag))
    fmt = output_format(ctx, output)
    with client(ctx) as api:
        page = api.get("/training/runs", **params)
    if fmt is not OutputFormat.table:
        render(page, fmt)
        return
    render(page["runs"], fmt, run_columns(page["tag_columns"]))
    if page.get("next_cursor"):
        info(f"more: --cursor {page['next_cursor']}")


@app.command("get")
def get_run(ctx: typer.Context, run_id: str, cluster: ClusterOpt = None, output: OutputOpt = None) -> None:
    """One run: params, tags, metrics with their histories, and the Kubernetes job it came from."""
    params = {"cluster": cluster} if cluster else {}
    with client(ctx) as api:
        run = api.get(f"/training/runs/{run_id}", **params)
    fmt = output_format(ctx, output)
    if fmt is not OutputFormat.table:
        render(run, fmt)
        return
    history = run.pop("metric_history", {})
    run.pop("all_tags", None)
    render(run, fmt)
    for key, points in sorted(history.items()):
        info(f"{key}: {len(points)} points" + (f", last {points[-1]['value']:g} at step {points[-1]['step']}"
                                                 if points else ""))  # fmt: skip


@app.command("compare")
def compare(
    ctx: typer.Context,
    run_ids: Annotated[list[str], typer.Argument(help="two or more run ids")],
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="repeatable; default loss")
    ] = None,
    cluster: ClusterOpt = None,
    output: OutputOpt = None,
) -> None:
    """The runs' metric histories side by side, one row per step."""
    params: dict[str, Any] = {"runs": ",".join(run_ids), "metrics": ",".join(metric or ["loss"])}
    if cluster:
        params["cluster"] = cluster
    with client(ctx) as api:
        body = api.get("/training/compare", **params)
    fmt = output_format(ctx, output)
    if fmt is not OutputFormat.table:
        render(body, fmt)
        return
    names = {r["id"]: r["run_name"] or r["id"][:8] for r in body["runs"]}
    pairs = [(m, rid) for m in body["metrics"] for rid in body["series"][m]]
    rows = [
        {"step": step, **{f"c{j}": body["series"][m][rid][i] for j, (m, rid) in enumerate(pairs)}}
        for i, step in enumerate(body["steps"])
    ]
    columns = [Column("STEP", "step")] + [
        Column(f"{m.upper()} {names[rid]}", f"c{j}", _num) for j, (m, rid) in enumerate(pairs)
    ]
    render(rows, fmt, columns)


@app.command("delete")
def delete(
    ctx: typer.Context,
    run_id: str,
    cluster: Annotated[
        str, typer.Option("--cluster", "-c", help="the cluster whose tracking server holds the run")
    ] = "local",
    restore: Annotated[bool, typer.Option(help="restore a deleted run instead")] = False,
    wait: Annotated[bool, typer.Option(help="follow the operation until it finishes")] = True,
    output: OutputOpt = None,
) -> None:
    """Delete (or --restore) a run: a delete_training_run command, audited and retried like any other."""
    kind = "restore_training_run" if restore else "delete_training_run"
    fmt = output_format(ctx, output)
    with client(ctx) as api:
        op = api.post("/commands", {"kind": kind, "cluster": cluster, "params": {"run_id": run_id}})
        if not wait:
            render(op, fmt)
            return
        final = wait_for(api, str(op["id"]), timeout=120, interval=0.25)
    finish(final, fmt)
