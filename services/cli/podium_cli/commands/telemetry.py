"""Kept logs and training metrics from the command line: `podium train logs NAME [-f]` and
`podium metrics available|data UID [--csv]`.

`logs` joins the `train` group of the training area (`podium_cli.commands.training.train_app`).
`-f` polls the kept log with the cursor of the last line it printed: what it shows is what Podium
stored (nothing is read from the cluster), so a follow that starts late or reconnects
shows every line once."""

# ruff: noqa: PLR0917 - typer maps each parameter to an option; they are never called positionally.

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import typer

from podium_cli.client import ApiClient
from podium_cli.commands.training import train_app
from podium_cli.output import Column, OutputFormat, info, render
from podium_cli.state import OutputOpt, client, output_format

ClusterOpt = Annotated[str, typer.Option("--cluster", "-c", help="registered cluster name")]
NamespaceOpt = Annotated[str, typer.Option("--namespace", "-n")]

metrics_app = typer.Typer(
    help="Training metrics of a workload (Primus Lens's API): available names, data points.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    root.add_typer(metrics_app, name="metrics")
    train_app.command("logs")(logs)


def _print_lines(page: dict[str, Any], prefix: bool) -> None:
    out = sys.stdout
    for line in page["lines"]:
        out.write(f"[{line['pod']}/{line['container']}] {line['line']}\n" if prefix else f"{line['line']}\n")
    out.flush()


def _note_drops(page: dict[str, Any]) -> None:
    for s in page.get("streams") or []:
        if s.get("dropped"):
            info(f"{s['pod']}/{s['container']}: {s['dropped']} lines were dropped by the collector")


def logs(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="training job (or model download) name")],
    cluster: ClusterOpt,
    namespace: NamespaceOpt = "default",
    pod: Annotated[str | None, typer.Option(help="only this pod")] = None,
    container: Annotated[str | None, typer.Option(help="only this container")] = None,
    since: Annotated[str | None, typer.Option(help="RFC 3339 time or a duration (15m, 2h)")] = None,
    tail: Annotated[int | None, typer.Option(help="only the last N lines (then follow, with -f)")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing new lines")] = False,
    interval: Annotated[float, typer.Option(help="with -f: seconds between looks")] = 1.0,
    max_seconds: Annotated[
        float, typer.Option(help="with -f: stop after this long (0 = until Ctrl-C)")
    ] = 0.0,
    output: OutputOpt = None,
) -> None:
    """The kept log of a training job's pods (also after the job and its pods are gone)."""
    fmt = output_format(ctx, output)
    path = f"/clusters/{cluster}/trainingjobs/{namespace}/{name}/logs"
    prefix = not (pod and container)
    query: dict[str, Any] = {"pod": pod, "container": container, "since": since}
    with client(ctx) as api:
        page = api.get(path, **query, tail=tail) if tail is not None else api.get(path, **query, limit=10_000)
        if fmt != OutputFormat.table:
            render(page, fmt)
            return
        cursor = _drain(api, path, query, page, prefix)
        _note_drops(page)
        if not follow:
            return
        deadline = time.monotonic() + max_seconds if max_seconds > 0 else None
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(interval)
                page = api.get(path, **query, limit=10_000, cursor=cursor)
                cursor = _drain(api, path, query, page, prefix) or cursor
        except KeyboardInterrupt:
            return


def _drain(
    api: ApiClient, path: str, query: dict[str, Any], page: dict[str, Any], prefix: bool
) -> str | None:
    """Print a page and every page after it; returns the id of the last line printed."""
    last = page.get("last_id")
    _print_lines(page, prefix)
    while page.get("next_cursor"):
        page = api.get(path, **query, limit=10_000, cursor=page["next_cursor"])
        _print_lines(page, prefix)
        last = page.get("last_id") or last
    return str(last) if last is not None else None


@metrics_app.command("available")
def available(
    ctx: typer.Context, uid: Annotated[str, typer.Argument(help="workload uid")], output: OutputOpt = None
) -> None:
    """Metric names of a workload, their sources and point counts."""
    with client(ctx) as api:
        body = api.get(f"/workloads/{uid}/metrics/available")
    fmt = output_format(ctx, output)
    if fmt == OutputFormat.table:
        render(
            body["metrics"],
            fmt,
            [Column("NAME", "name"), Column("SOURCES", "data_source"), Column("POINTS", "count")],
        )
    else:
        render(body, fmt)


@metrics_app.command("data")
def data(
    ctx: typer.Context,
    uid: Annotated[str, typer.Argument(help="workload uid")],
    metrics: Annotated[str | None, typer.Option(help="comma-separated names")] = None,
    source: Annotated[str | None, typer.Option(help="log, wandb, tensorflow or mlflow")] = None,
    start: Annotated[int | None, typer.Option(help="from this time (ms since the epoch)")] = None,
    end: Annotated[int | None, typer.Option(help="up to this time (ms since the epoch)")] = None,
    limit: Annotated[int | None, typer.Option(help="at most this many points")] = None,
    bucket: Annotated[int | None, typer.Option(help="aggregate into buckets of this many ms")] = None,
    agg: Annotated[str | None, typer.Option(help="with --bucket: avg, min, max or last")] = None,
    csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout")] = False,
    output: OutputOpt = None,
) -> None:
    """Metric points: timestamp, iteration, value per metric."""
    params: dict[str, Any] = {
        "metrics": metrics, "data_source": source, "start": start, "end": end, "limit": limit,
        "bucket": bucket, "agg": agg,
    }  # fmt: skip
    with client(ctx) as api:
        if csv:
            with api.stream(f"/workloads/{uid}/metrics/data", **params, format="csv") as resp:
                for chunk in resp.iter_text():
                    sys.stdout.write(chunk)
            return
        body = api.get(f"/workloads/{uid}/metrics/data", **params)
    fmt = output_format(ctx, output)
    if fmt == OutputFormat.table:
        columns = [
            Column("METRIC", "metric_name"), Column("ITERATION", "iteration"), Column("VALUE", "value"),
            Column("TIMESTAMP", "timestamp"), Column("SOURCE", "data_source"),
        ]  # fmt: skip
        render(body["data"], fmt, columns)
        if body.get("next_cursor"):
            info(
                f"{len(body['data'])} of {body['total_count']} points; narrow --start/--end or raise --limit"
            )
    else:
        render(body, fmt)
