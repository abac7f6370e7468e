"""AWS infrastructure from the command line: EKS node groups, HyperPod instance groups, S3 storage.

Changes are commands on `POST /api/v1/commands` (queued, retried, audited); `--wait` follows one to the end
(node groups and instance groups take minutes on AWS) and the exit code says how it ended."""

# ruff: noqa: PLR0917 - typer maps each parameter to an option; they are never called positionally.

from __future__ import annotations

from typing import Annotated, Any

import typer

from podium_cli.client import CliError, ExitCode
from podium_cli.commands.ops import submit_command
from podium_cli.output import Column, OutputFormat, info, render
from podium_cli.state import OutputOpt, client, output_format

ClusterOpt = Annotated[str, typer.Option("--cluster", "-c", help="registered cluster name")]
WaitOpt = Annotated[bool, typer.Option(help="follow the operation until it finishes (exit 1 if it fails)")]
TimeoutOpt = Annotated[float, typer.Option(help="with --wait: give up after this many seconds (0 = never)")]

nodegroups_app = typer.Typer(help="EKS managed node groups.", no_args_is_help=True)
hyperpod_app = typer.Typer(help="SageMaker HyperPod instance groups.", no_args_is_help=True)
s3_app = typer.Typer(
    help="The S3 buckets behind the cluster's S3 CSI volumes (read-only).", no_args_is_help=True
)

NODEGROUP_COLUMNS = [
    Column("NAME", "name"),
    Column("STATUS", "status"),
    Column("INSTANCE TYPES", "instance_types", lambda v: ",".join(v or [])),
    Column("CAPACITY", "capacity_type"),
    Column("MIN", "min"),
    Column("MAX", "max"),
    Column("DESIRED", "desired"),
    Column("NODES", "nodes", lambda v: str(len(v or []))),
    Column("GPUS", "gpus"),
]
GROUP_COLUMNS = [
    Column("NAME", "name"),
    Column("STATUS", "status"),
    Column("INSTANCE TYPE", "instance_type"),
    Column("CURRENT", "current_count"),
    Column("TARGET", "target_count"),
    Column("THREADS/CORE", "threads_per_core"),
]
OBJECT_COLUMNS = [
    Column("KEY", "key"),
    Column("SIZE", "size"),
    Column("LAST MODIFIED", "last_modified"),
    Column("CLASS", "storage_class"),
]


def register(root: typer.Typer) -> None:
    root.add_typer(nodegroups_app, name="nodegroups")
    root.add_typer(hyperpod_app, name="hyperpod")
    root.add_typer(s3_app, name="s3")


@nodegroups_app.command("list")
def nodegroups_list(ctx: typer.Context, cluster: ClusterOpt = "local", output: OutputOpt = None) -> None:
    """Node groups with status, sizes, and the GPUs of their Kubernetes nodes."""
    fmt = output_format(ctx, output)
    with client(ctx) as api:
        data = api.get(f"/clusters/{cluster}/nodegroups")
    render(data if fmt is not OutputFormat.table else data["nodegroups"], fmt, NODEGROUP_COLUMNS)


@nodegroups_app.command("scale")
def nodegroups_scale(
    ctx: typer.Context,
    nodegroup: Annotated[str, typer.Argument()],
    min_size: Annotated[int, typer.Option("--min", min=0)],
    max_size: Annotated[int, typer.Option("--max", min=0)],
    desired: Annotated[int, typer.Option(min=0)],
    cluster: ClusterOpt = "local",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    """Set min / max / desired (0 <= min <= desired <= max, max >= 1)."""
    params = {"nodegroup": nodegroup, "min": min_size, "max": max_size, "desired": desired}
    submit_command(ctx, "scale_nodegroup", cluster, params, wait=wait, timeout=timeout, output=output)


def _taint(text: str) -> dict[str, str]:
    # key=value:EFFECT or key:EFFECT, like kubectl taint.
    head, sep, effect = text.rpartition(":")
    if not sep:
        raise CliError(f"taint {text!r} must look like key=value:NO_SCHEDULE", ExitCode.usage)
    key, _, value = head.partition("=")
    return {"key": key, "value": value, "effect": effect.upper().replace("NOSCHEDULE", "NO_SCHEDULE")}


@nodegroups_app.command("create")
def nodegroups_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    instance_type: Annotated[list[str], typer.Option("--instance-type", help="repeatable")],
    min_size: Annotated[int, typer.Option("--min", min=0)] = 0,
    max_size: Annotated[int, typer.Option("--max", min=1)] = 1,
    desired: Annotated[int, typer.Option(min=0)] = 1,
    capacity_type: Annotated[str, typer.Option(help="ON_DEMAND, SPOT or CAPACITY_BLOCK")] = "ON_DEMAND",
    ami_type: Annotated[str | None, typer.Option(help="default: a GPU AMI for GPU instance types")] = None,
    subnet: Annotated[list[str] | None, typer.Option("--subnet", help="default: the cluster's")] = None,
    node_role: Annotated[str | None, typer.Option(help="default: an existing group's role")] = None,
    disk_size: Annotated[int, typer.Option(min=20)] = 100,
    label: Annotated[list[str] | None, typer.Option("--label", help="key=value (repeatable)")] = None,
    taint: Annotated[list[str] | None, typer.Option("--taint", help="key=value:NO_SCHEDULE")] = None,
    cluster: ClusterOpt = "local",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    """Create a managed node group."""
    labels = {}
    for item in label or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise CliError(f"label {item!r} must look like key=value", ExitCode.usage)
        labels[key] = value
    params: dict[str, Any] = {
        "name": name, "instance_types": list(instance_type), "capacity_type": capacity_type,
        "disk_size": disk_size, "scaling": {"min": min_size, "max": max_size, "desired": desired},
        "labels": labels, "taints": [_taint(t) for t in taint or []],
    }  # fmt: skip
    optional = {"ami_type": ami_type, "subnets": list(subnet) if subnet else None, "node_role": node_role}
    params.update({k: v for k, v in optional.items() if v is not None})
    submit_command(ctx, "create_nodegroup", cluster, params, wait=wait, timeout=timeout, output=output)


@nodegroups_app.command("delete")
def nodegroups_delete(
    ctx: typer.Context,
    nodegroup: Annotated[str, typer.Argument()],
    confirm: Annotated[str, typer.Option(help="the node group's name again")],
    cluster: ClusterOpt = "local",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    """Delete a node group (its nodes go with it). --confirm must repeat the name."""
    params = {"nodegroup": nodegroup, "confirm": confirm}
    submit_command(ctx, "delete_nodegroup", cluster, params, wait=wait, timeout=timeout, output=output)


@hyperpod_app.command("groups")
def hyperpod_groups(ctx: typer.Context, cluster: ClusterOpt = "local", output: OutputOpt = None) -> None:
    """The HyperPod cluster's instance groups."""
    fmt = output_format(ctx, output)
    with client(ctx) as api:
        data = api.get(f"/clusters/{cluster}/hyperpod")
    if fmt is OutputFormat.table:
        info(f"{data['hyperpod_cluster_name']}: {data['status']}")
        render(data["instance_groups"], fmt, GROUP_COLUMNS)
    else:
        render(data, fmt)


@hyperpod_app.command("scale")
def hyperpod_scale(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument()],
    target_count: Annotated[int, typer.Argument(min=0)],
    cluster: ClusterOpt = "local",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    """Set an instance group's instance count."""
    params = {"group": group, "target_count": target_count}
    submit_command(ctx, "scale_instance_group", cluster, params, wait=wait, timeout=timeout, output=output)


@hyperpod_app.command("add")
def hyperpod_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    instance_type: Annotated[str, typer.Option(help="e.g. ml.g5.12xlarge")],
    count: Annotated[int, typer.Option(min=1)],
    execution_role: Annotated[str, typer.Option(help="IAM role ARN of the instances")],
    source_s3_uri: Annotated[str, typer.Option(help="lifecycle scripts, s3://…")],
    on_create: Annotated[str, typer.Option(help="the lifecycle script run on creation")] = "on_create.sh",
    threads_per_core: Annotated[int, typer.Option(min=1, max=2)] = 1,
    cluster: ClusterOpt = "local",
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 0,
    output: OutputOpt = None,
) -> None:
    """Add an instance group to the HyperPod cluster."""
    params = {
        "name": name, "instance_type": instance_type, "count": count, "execution_role": execution_role,
        "lifecycle_config": {"source_s3_uri": source_s3_uri, "on_create": on_create},
        "threads_per_core": threads_per_core,
    }  # fmt: skip
    submit_command(ctx, "add_instance_group", cluster, params, wait=wait, timeout=timeout, output=output)


def _volume(api: Any, cluster: str, pv: str | None) -> str:
    if pv:
        return pv
    volumes = api.get(f"/clusters/{cluster}/storage")["volumes"]
    if len(volumes) != 1:
        names = ", ".join(v["pv"] for v in volumes) or "none"
        raise CliError(f"name the volume with --pv (S3 volumes: {names})", ExitCode.usage)
    return str(volumes[0]["pv"])


@s3_app.command("ls")
def s3_ls(
    ctx: typer.Context,
    prefix: Annotated[str, typer.Argument(help="relative to the volume's prefix, e.g. models/")] = "",
    pv: Annotated[
        str | None, typer.Option(help="the S3 CSI PersistentVolume (default: the only one)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 1000,
    all_pages: Annotated[bool, typer.Option("--all", help="follow every page")] = False,
    cursor: Annotated[str | None, typer.Option()] = None,
    cluster: ClusterOpt = "local",
    output: OutputOpt = None,
) -> None:
    """Folders and objects under PREFIX."""
    fmt = output_format(ctx, output)
    with client(ctx) as api:
        volume = _volume(api, cluster, pv)
        folders: list[str] = []
        objects: list[dict[str, Any]] = []
        while True:
            query: dict[str, Any] = {"prefix": prefix, "limit": limit}
            if cursor:
                query["cursor"] = cursor
            page = api.get(f"/clusters/{cluster}/storage/{volume}/objects", **query)
            folders += page["folders"]
            objects += page["objects"]
            cursor = page["cursor"]
            if not all_pages or cursor is None:
                break
    if fmt is not OutputFormat.table:
        render({"folders": folders, "objects": objects, "cursor": cursor}, fmt)
        return
    rows = [{"key": f, "size": "", "last_modified": "", "storage_class": "PRE"} for f in folders] + objects
    render(rows, fmt, OBJECT_COLUMNS)
    if cursor:
        info(f"more: --cursor {cursor}")


@s3_app.command("url")
def s3_url(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="relative to the volume's prefix")],
    pv: Annotated[
        str | None, typer.Option(help="the S3 CSI PersistentVolume (default: the only one)")
    ] = None,
    cluster: ClusterOpt = "local",
    output: OutputOpt = None,
) -> None:
    """A short-lived presigned download URL for KEY."""
    fmt = output_format(ctx, output)
    with client(ctx) as api:
        volume = _volume(api, cluster, pv)
        data = api.get(f"/clusters/{cluster}/storage/{volume}/objects/url", key=key)
    if fmt is OutputFormat.table:
        print(data["url"])
    else:
        render(data, fmt)
