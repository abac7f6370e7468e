"""Model serving from the command line: deploy, undeploy, scale, pools, business Services, test console.

Every change is a command on `POST /api/v1/commands` (queued, retried, audited); `--wait` follows it to the
end and the exit code says how it ended. Reads come from the serving endpoints."""

# ruff: noqa: PLR0917 - typer maps each parameter to an option; they are never called positionally.

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from podium_cli.client import ApiClient, CliError, ExitCode
from podium_cli.commands.ops import submit_command
from podium_cli.output import Column, OutputFormat, info, render
from podium_cli.state import OutputOpt, client, output_format

ClusterOpt = Annotated[str, typer.Option("--cluster", "-c", help="registered cluster name")]
NamespaceOpt = Annotated[str, typer.Option("--namespace", "-n")]
WaitOpt = Annotated[bool, typer.Option(help="follow the operation until it finishes (exit 1 if it fails)")]
TimeoutOpt = Annotated[float, typer.Option(help="with --wait: give up after this many seconds (0 = never)")]

pool_app = typer.Typer(help="Model pools: status, assign pods, distribute by ratio.", no_args_is_help=True)
service_app = typer.Typer(help="Business Services of model pools.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.command("deploy")(deploy)
    root.command("undeploy")(undeploy)
    root.command("scale")(scale)
    root.command("invoke")(invoke)
    root.add_typer(pool_app, name="pool")
    root.add_typer(service_app, name="service")


def deploy(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Argument(help="model id, e.g. Qwen/Qwen3-0.6B (or use --command-line)")
    ] = None,
    engine: Annotated[str | None, typer.Option(help="vllm, sglang or ollama")] = None,
    command_line: Annotated[
        str | None,
        typer.Option(
            "--command-line", help="a pasted engine command, e.g. 'vllm serve Qwen/Qwen3-0.6B --tp 2'"
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Deployment name (default: <engine>-<model tag>)")] = None,
    replicas: Annotated[int, typer.Option(min=0)] = 1,
    gpus: Annotated[int | None, typer.Option("--gpus", help="GPUs per replica")] = None,
    max_model_len: Annotated[int | None, typer.Option()] = None,
    arg: Annotated[list[str] | None, typer.Option("--arg", help="extra engine argument (repeatable)")] = None,
    instance_type: Annotated[str | None, typer.Option()] = None,
    node_group: Annotated[str | None, typer.Option()] = None,
    internet_facing: Annotated[
        bool, typer.Option(help="internet-facing load balancer (default internal)")
    ] = False,
    pool: Annotated[
        bool, typer.Option(help="deploy as a model pool (no Service; pods start unassigned)")
    ] = False,
    hf_token: Annotated[
        str | None,
        typer.Option(envvar="HF_TOKEN", help="Hugging Face token (env HF_TOKEN); kept in a Secret"),
    ] = None,
    cluster: ClusterOpt = "local",
    namespace: NamespaceOpt = "default",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    """Deploy a model with vLLM, SGLang or Ollama, from fields or a pasted command line."""
    params: dict[str, Any] = {"namespace": namespace, "replicas": replicas, "pool": pool}
    params["scheme"] = "internet-facing" if internet_facing else "internal"
    optional = {
        "model": model, "engine": engine, "command_line": command_line, "name": name,
        "gpus_per_replica": gpus, "max_model_len": max_model_len, "instance_type": instance_type,
        "node_group": node_group, "hf_token": hf_token,
    }  # fmt: skip
    params.update({k: v for k, v in optional.items() if v is not None})
    if arg:
        params["extra_args"] = list(arg)
    submit_command(ctx, "deploy_model", cluster, params, wait=wait, timeout=timeout, output=output)


def undeploy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Deployment name")],
    force: Annotated[bool, typer.Option(help="remove a pool even if pods are still assigned")] = False,
    cluster: ClusterOpt = "local",
    namespace: NamespaceOpt = "default",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    """Remove a model: its Deployment, Services and Secret."""
    params = {"namespace": namespace, "name": name, "force": force}
    submit_command(ctx, "undeploy_model", cluster, params, wait=wait, timeout=timeout, output=output)


def scale(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Deployment name")],
    replicas: Annotated[int, typer.Argument(min=0)],
    cluster: ClusterOpt = "local",
    namespace: NamespaceOpt = "default",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    """Scale a Deployment; a pool scales down only by removing unassigned pods."""
    params = {"namespace": namespace, "name": name, "replicas": replicas}
    submit_command(ctx, "scale", cluster, params, wait=wait, timeout=timeout, output=output)


POOL_POD_COLUMNS = [Column("POD", "name"), Column("BUSINESS", "business"), Column("READY", "ready")]


@pool_app.command("status")
def pool_status(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="pool Deployment name")],
    cluster: ClusterOpt = "local",
    namespace: NamespaceOpt = "default",
    output: OutputOpt = None,
) -> None:
    """Pods per business and how many may be removed by a scale-down."""
    with client(ctx) as api:
        status = api.get(f"/clusters/{cluster}/pools/{namespace}/{name}")
    fmt = output_format(ctx, output)
    if fmt is not OutputFormat.table:
        render(status, fmt)
        return
    per_business = ", ".join(f"{b}: {n}" for b, n in (status.get("pods_per_business") or {}).items())
    info(
        f"{name}: {status.get('total_pods')} pods ({status.get('ready_pods')} ready) — "
        f"{per_business or 'none'}; "
        f"available for scale-down: {status.get('available_for_scale_down')}"
    )
    render(status.get("pods") or [], fmt, POOL_POD_COLUMNS)


@pool_app.command("assign")
def pool_assign(
    ctx: typer.Context,
    pod: Annotated[str, typer.Argument(help="pool pod name")],
    business: Annotated[str, typer.Argument(help="business name, or 'unassigned'")],
    drain_timeout: Annotated[float, typer.Option(help="seconds to wait for in-flight requests")] = 120,
    cluster: ClusterOpt = "local",
    namespace: NamespaceOpt = "default",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    """Move one pool pod to a business (draining it first if it leaves one)."""
    params = {
        "namespace": namespace,
        "pod": pod,
        "business": business,
        "drain_timeout_seconds": drain_timeout,
    }
    submit_command(ctx, "assign_pod", cluster, params, wait=wait, timeout=timeout, output=output)


def _targets(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for raw in values:
        business, sep, number = raw.partition("=")
        if not sep or not number.strip().isdigit():
            raise CliError(f"{raw!r} is not business=N", ExitCode.usage, code="usage")
        out[business.strip()] = int(number)
    return out


@pool_app.command("distribute")
def pool_distribute(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="pool Deployment name")],
    targets: Annotated[list[str], typer.Argument(help="business=N … (ratios, or counts with --counts)")],
    counts: Annotated[bool, typer.Option(help="N are pod counts (the rest unassigned), not ratios")] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 8,
    server_plan: Annotated[
        bool, typer.Option(help="let the worker plan on live pods (one operation, no per-pod children)")
    ] = False,
    cluster: ClusterOpt = "local",
    namespace: NamespaceOpt = "default",
    wait: WaitOpt = True,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    """Relabel the fewest pods to reach a distribution, e.g. `podium pool distribute NAME prod=3 test=1`.

    By default the plan is made now (from the watcher's view) and applied as one bulk operation with a
    child per pod, whose progress is shown while it runs."""
    wanted = _targets(targets)
    if server_plan:
        params: dict[str, Any] = {"namespace": namespace, "pool": name, "concurrency": concurrency}
        params["counts" if counts else "ratios"] = wanted
        submit_command(ctx, "distribute_pool", cluster, params, wait=wait, timeout=timeout, output=output)
        return
    query = ",".join(f"{b}:{n}" for b, n in wanted.items())
    with client(ctx) as api:
        planned = api.get(
            f"/clusters/{cluster}/pools/{namespace}/{name}/distribution",
            counts=query if counts else None,
            ratios=None if counts else query,
            concurrency=concurrency,
        )
    if planned.get("command") is None:
        info(f"{name} is already distributed as asked; nothing to move")
        render(planned, output_format(ctx, output))
        return
    info(", ".join(f"{m['pod']}: {m['from']} → {m['to']}" for m in planned["moves"]))
    command = planned["command"]
    submit_command(
        ctx, command["kind"], cluster, command["params"], wait=wait, timeout=timeout, output=output
    )


BUSINESS_SERVICE_COLUMNS = [
    Column("NAME", "name"),
    Column("NAMESPACE", "namespace"),
    Column("BUSINESS", "business"),
    Column("MODEL", "model"),
    Column("READY PODS", "ready_pods"),
    Column("ADDRESS", "address"),
    Column("SCHEME", "scheme"),
]


@service_app.command("list")
def service_list(
    ctx: typer.Context,
    cluster: ClusterOpt = "local",
    namespace: Annotated[str | None, typer.Option("--namespace", "-n")] = None,
    output: OutputOpt = None,
) -> None:
    with client(ctx) as api:
        rows = api.get(f"/clusters/{cluster}/business-services", namespace=namespace)
    render(rows, output_format(ctx, output), BUSINESS_SERVICE_COLUMNS)


@service_app.command("create")
def service_create(
    ctx: typer.Context,
    pool: Annotated[str, typer.Argument(help="pool Deployment name")],
    business: Annotated[str, typer.Argument(help="business name")],
    name: Annotated[str | None, typer.Option(help="Service name (default <pool>-<business>)")] = None,
    internet_facing: Annotated[bool, typer.Option()] = False,
    cluster: ClusterOpt = "local",
    namespace: NamespaceOpt = "default",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    params: dict[str, Any] = {"namespace": namespace, "pool": pool, "business": business}
    params["scheme"] = "internet-facing" if internet_facing else "internal"
    if name:
        params["name"] = name
    submit_command(ctx, "create_business_service", cluster, params, wait=wait, timeout=timeout, output=output)


@service_app.command("delete")
def service_delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Service name")],
    cluster: ClusterOpt = "local",
    namespace: NamespaceOpt = "default",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    params = {"namespace": namespace, "name": name}
    submit_command(ctx, "delete_business_service", cluster, params, wait=wait, timeout=timeout, output=output)


def invoke(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name")],
    path: Annotated[
        str, typer.Option(help="/v1/models, /v1/completions or /v1/chat/completions")
    ] = "/v1/models",
    data: Annotated[str | None, typer.Option("--data", "-d", help="JSON body ('-' for stdin)")] = None,
    request_timeout: Annotated[float, typer.Option("--request-timeout")] = 60,
    cluster: ClusterOpt = "local",
    namespace: NamespaceOpt = "default",
    output: OutputOpt = None,
) -> None:
    """Send a test request through the cluster's service proxy; prints the answer and the curl command."""
    body: Any = None
    if data is not None:
        text = sys.stdin.read() if data == "-" else data
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise CliError(f"--data is not JSON: {exc}", ExitCode.usage, code="usage") from None
    request = {"path": path, "body": body, "timeout_seconds": request_timeout}
    url = f"/clusters/{cluster}/services/{namespace}/{service}/invoke"
    fmt = output_format(ctx, output)
    with client(ctx) as api:
        if isinstance(body, dict) and body.get("stream") is True:
            _stream(api, url, request, request_timeout)
            return
        answer = api.post(url, request)
    if fmt is not OutputFormat.table:
        render(answer, fmt)
        return
    info(answer.get("curl", ""))
    render(answer.get("body"), OutputFormat.json)


def _stream(api: ApiClient, url: str, request: dict[str, Any], timeout: float) -> None:
    """Print server-sent events as they arrive (the API passes them through unbuffered)."""
    # The model may think for up to the request's own timeout before its first chunk.
    with api.stream_post(url, request, timeout=timeout + 10) as resp:
        curl = resp.headers.get("X-Podium-Curl")
        if curl:
            info(json.loads(curl))
        for chunk in resp.iter_text():
            sys.stdout.write(chunk)
            sys.stdout.flush()
