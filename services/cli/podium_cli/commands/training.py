"""Training from the command line: `podium train submit|list|describe|delete` and `podium download MODEL`.

Submitting, deleting and downloading are commands on `POST /api/v1/commands` (queued, retried, audited);
`--wait` follows the operation to its end (a download's progress is shown as it goes). Reads come from the
training endpoints. Other areas add their commands to the same group: `train_app` is public, e.g.

    from podium_cli.commands.training import train_app
    train_app.command("logs")(logs)

(typer builds the group when `podium` runs, so the order the areas register in does not matter)."""

# ruff: noqa: PLR0917 - typer maps each parameter to an option; they are never called positionally.

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from podium_cli.client import CliError, ExitCode
from podium_cli.commands.ops import submit_command
from podium_cli.output import Column, OutputFormat, info, render
from podium_cli.state import OutputOpt, client, output_format

ClusterOpt = Annotated[str, typer.Option("--cluster", "-c", help="registered cluster name")]
NamespaceOpt = Annotated[str, typer.Option("--namespace", "-n")]
WaitOpt = Annotated[bool, typer.Option(help="follow the operation until it finishes (exit 1 if it fails)")]
TimeoutOpt = Annotated[float, typer.Option(help="with --wait: give up after this many seconds (0 = never)")]

train_app = typer.Typer(
    help="Training jobs (HyperPod or Kubeflow PyTorchJobs): submit, list, describe, delete.",
    no_args_is_help=True,
)

# The job's settings as submitted (JSON), on the job object; see podium_shared.training.labels.
SETTINGS_ANNOTATION = "podium.dev/training-settings"


def register(root: typer.Typer) -> None:
    root.add_typer(train_app, name="train")
    root.command("download")(download)


def _env(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in values or []:
        name, sep, value = raw.partition("=")
        if not sep or not name:
            raise CliError(f"{raw!r} is not NAME=VALUE", ExitCode.usage, code="usage")
        out[name] = value
    return out


@train_app.command("submit")
def submit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="job name")],
    command: Annotated[
        list[str] | None,
        typer.Argument(help="a custom command instead of LLaMA-Factory settings: put it after `--`"),
    ] = None,
    job_type: Annotated[str, typer.Option("--type", help="pytorchjob (Kubeflow) or hyperpod")] = "pytorchjob",
    image: Annotated[str | None, typer.Option(help="container image (default: the server's)")] = None,
    model: Annotated[str | None, typer.Option(help="LLaMA-Factory: model id or path")] = None,
    dataset: Annotated[str | None, typer.Option(help="LLaMA-Factory: dataset names, comma-separated")] = None,
    template: Annotated[str | None, typer.Option()] = None,
    stage: Annotated[str | None, typer.Option(help="sft, pt, rm, ppo, dpo, kto")] = None,
    finetuning_type: Annotated[str | None, typer.Option(help="lora, full, freeze")] = None,
    batch_size: Annotated[int | None, typer.Option(help="per device")] = None,
    gradient_accumulation_steps: Annotated[int | None, typer.Option()] = None,
    learning_rate: Annotated[float | None, typer.Option()] = None,
    epochs: Annotated[float | None, typer.Option()] = None,
    cutoff_len: Annotated[int | None, typer.Option()] = None,
    deepspeed: Annotated[str | None, typer.Option(help="none, z0, z2, z3, z3-offload")] = None,
    output_dir: Annotated[str | None, typer.Option(help="on the shared volume")] = None,
    max_steps: Annotated[int | None, typer.Option()] = None,
    logging_steps: Annotated[int | None, typer.Option()] = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="NAME=VALUE (repeatable)")] = None,
    instance_type: Annotated[str | None, typer.Option()] = None,
    replicas: Annotated[int, typer.Option(min=1, help="nodes")] = 1,
    procs_per_node: Annotated[int, typer.Option(min=1, help="GPUs (processes) per node")] = 1,
    hf_token: Annotated[
        str | None,
        typer.Option(envvar="HF_TOKEN", help="Hugging Face token (env HF_TOKEN); kept in a Secret"),
    ] = None,
    mlflow_experiment: Annotated[str | None, typer.Option()] = None,
    mlflow_run_name: Annotated[str | None, typer.Option()] = None,
    cluster: ClusterOpt = "local",
    namespace: NamespaceOpt = "default",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    """Submit a training job: LLaMA-Factory settings (--model, --dataset, …) or a command after `--`."""
    params: dict[str, Any] = {
        "namespace": namespace, "name": name, "type": job_type, "replicas": replicas,
        "procs_per_node": procs_per_node,
    }  # fmt: skip
    optional = {
        "image": image, "instance_type": instance_type, "hf_token": hf_token,
        "mlflow_experiment": mlflow_experiment, "mlflow_run_name": mlflow_run_name,
    }  # fmt: skip
    params.update({k: v for k, v in optional.items() if v is not None})
    if env:
        params["env"] = _env(env)
    settings = {
        "model": model, "dataset": dataset, "template": template, "stage": stage,
        "finetuning_type": finetuning_type, "batch_size": batch_size,
        "gradient_accumulation_steps": gradient_accumulation_steps, "learning_rate": learning_rate,
        "epochs": epochs, "cutoff_len": cutoff_len, "deepspeed": deepspeed, "output_dir": output_dir,
        "max_steps": max_steps, "logging_steps": logging_steps,
    }  # fmt: skip
    given = {k: v for k, v in settings.items() if v is not None}
    if given:
        params["llamafactory"] = given
    if command:
        params["command"] = list(command)
    submit_command(ctx, "submit_training_job", cluster, params, wait=wait, timeout=timeout, output=output)


def _status(job: dict[str, Any]) -> str:
    held = {
        c.get("type") for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"
    }
    for shown, types in (("Failed", ("Failed",)), ("Succeeded", ("Succeeded", "Completed")),
                         ("Running", ("Running",))):  # fmt: skip
        if held & set(types):
            return shown
    return "Pending"


def _settings(job: dict[str, Any]) -> dict[str, Any]:
    raw = ((job.get("metadata") or {}).get("annotations") or {}).get(SETTINGS_ANNOTATION)
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _age(timestamp: Any) -> str:
    if not isinstance(timestamp, str):
        return "-"
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "-"
    seconds = int((datetime.now(UTC) - then).total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h" if seconds < 172_800 else f"{seconds // 86400}d"


LIST_COLUMNS = [
    Column("NAMESPACE", "namespace"), Column("NAME", "name"), Column("TYPE", "type"),
    Column("STATUS", "status"), Column("MODEL", "model"), Column("DATASET", "dataset"),
    Column("INSTANCE-TYPE", "instance_type"), Column("REPLICAS", "replicas"), Column("AGE", "age"),
]  # fmt: skip


@train_app.command("list")
def list_jobs(
    ctx: typer.Context,
    cluster: ClusterOpt = "local",
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="default: all you may see")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Training jobs with status, type, model, dataset, instance type, replicas and age."""
    query: dict[str, Any] = {"limit": 1000}
    if namespace:
        query["namespace"] = namespace
    with client(ctx) as api:
        page = api.get(f"/clusters/{cluster}/trainingjobs", **query)
    rows = []
    for item in page.get("items") or []:
        job = item.get("object") or {}
        s = _settings(job)
        lf = s.get("llamafactory") or {}
        rows.append(
            {
                "namespace": item.get("namespace"), "name": item.get("name"),
                "type": {"PyTorchJob": "pytorchjob", "HyperPodPyTorchJob": "hyperpod"}.get(
                    str(job.get("kind")), job.get("kind")),
                "status": _status(job), "model": lf.get("model"), "dataset": lf.get("dataset"),
                "instance_type": s.get("instance_type"), "replicas": s.get("replicas"),
                "age": _age(item.get("createdAt")),
            }
        )  # fmt: skip
    render(rows, output_format(ctx, output), LIST_COLUMNS)


POD_COLUMNS = [
    Column("POD", "name"), Column("ROLE", "role"), Column("NODE", "node"), Column("PHASE", "phase"),
    Column("RESTARTS", "restarts"), Column("EXIT", "exit_code"), Column("REASON", "reason"),
]  # fmt: skip
EVENT_COLUMNS = [
    Column("LAST", "last"), Column("TYPE", "type"), Column("REASON", "reason"), Column("OBJECT", "object"),
    Column("MESSAGE", "message"),
]  # fmt: skip


@train_app.command("describe")
def describe(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="job name")],
    cluster: ClusterOpt = "local",
    namespace: NamespaceOpt = "default",
    output: OutputOpt = None,
) -> None:
    """Status and conditions, settings, pods, events, start, end, duration and latest metrics."""
    with client(ctx) as api:
        page = api.get(f"/clusters/{cluster}/trainingjobs/{namespace}/{name}")
    fmt = output_format(ctx, output)
    if fmt is not OutputFormat.table:
        render(page, fmt)
        return
    status = page.get("status") or {}
    settings = page.get("settings") or {}
    render(
        {
            "name": f"{page.get('namespace')}/{page.get('name')}",
            "type": page.get("type"),
            "uid": page.get("uid"),
            "status": status.get("phase"),
            "message": status.get("message"),
            "start": page.get("start"),
            "end": page.get("end"),
            "duration_seconds": page.get("duration_seconds"),
            "settings": settings.get("llamafactory") or settings.get("command"),
            "placement": {k: settings.get(k) for k in ("instance_type", "replicas", "procs_per_node")},
            # name: value (the full points, with time and step, are in `-o json`)
            "latest_metrics": {k: v.get("value") for k, v in (page.get("latest_metrics") or {}).items()}
            or None,
        },
        fmt,
    )
    failure = page.get("failure")
    if failure:
        for pod in failure.get("pods") or []:
            info(f"failed: {pod.get('name')}: {pod.get('message') or pod.get('reason')}")
    info("")
    render(page.get("pods") or [], fmt, POD_COLUMNS)
    info("")
    render(page.get("events") or [], fmt, EVENT_COLUMNS)


@train_app.command("delete")
def delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="job name")],
    job_type: Annotated[
        str | None, typer.Option("--type", help="pytorchjob or hyperpod (default: either)")
    ] = None,
    cluster: ClusterOpt = "local",
    namespace: NamespaceOpt = "default",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    """Delete a training job and its token Secret (its kept logs and metrics stay readable)."""
    params: dict[str, Any] = {"namespace": namespace, "name": name}
    if job_type:
        params["type"] = job_type
    submit_command(ctx, "delete_training_job", cluster, params, wait=wait, timeout=timeout, output=output)


def download(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Hugging Face model id, e.g. Qwen/Qwen3-0.6B")],
    revision: Annotated[str, typer.Option(help="branch, tag or commit")] = "main",
    name: Annotated[str | None, typer.Option(help="the download Job's name (default: derived)")] = None,
    pvc: Annotated[str | None, typer.Option(help="shared volume claim (default: the server's)")] = None,
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
    """Download a model to the shared volume (a Job); --wait shows its progress to the end."""
    params: dict[str, Any] = {"namespace": namespace, "model": model, "revision": revision}
    optional = {"name": name, "pvc": pvc, "hf_token": hf_token}
    params.update({k: v for k, v in optional.items() if v is not None})
    submit_command(ctx, "download_model", cluster, params, wait=wait, timeout=timeout, output=output)
