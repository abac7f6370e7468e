"""The server commands: each part of Podium run alone (what docker-compose and deploy/ use), and `up`.

Each command imports its service only when it runs, so `podium --help` and the user commands stay fast."""

# ruff: noqa: PLC0415 - the imports inside the commands are that laziness.

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from podium_worker.command import worker

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.command("api")(api)
    root.command("worker")(worker)  # defined with the worker, which `python -m podium_worker` runs too
    root.command("watcher")(watcher)
    root.command("kubesim")(kubesim)
    root.command("awsemu")(awsemu)
    root.command("up")(up)
    root.command("bootstrap")(bootstrap)
    root.command("probe")(probe)
    root.add_typer(db_app, name="db")


def api(
    host: Annotated[str, typer.Option(help="0.0.0.0 inside a container")] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    log_level: Annotated[str, typer.Option()] = "info",
    workers: Annotated[
        int, typer.Option(min=1, help="API processes sharing the port (each has its own WebSocket hub)")
    ] = 1,
) -> None:
    """Run the REST/WebSocket API and the console (uvicorn)."""
    import uvicorn

    # Behind a load balancer or ingress the client address comes from X-Forwarded-For; uvicorn trusts
    # it only from the addresses in FORWARDED_ALLOW_IPS (default: loopback). uvloop and httptools are
    # named, not left to "auto", so a missing extra fails loudly instead of running slower
    # (docs/performance.md). Several workers need the app as an import string: each builds its own.
    # No permessage-deflate: it compresses every event once per client (a thousand consoles, a thousand
    # compressions of the same bytes) and was the largest single cost of the fan-out.
    uvicorn.run(
        "podium_api.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=True,
        workers=workers,
        loop="uvloop",
        http="httptools",
        ws_per_message_deflate=False,
    )


def watcher() -> None:
    """Run the watcher: Kubernetes watches → Redis state and event stream (leader-elected)."""
    from podium_watcher import run_watcher

    run_watcher()


def kubesim(  # noqa: PLR0917 - typer maps each parameter to an option
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 6443,
    scenario: Annotated[str | None, typer.Option(help="scenario name or YAML path")] = None,
    speed: Annotated[float, typer.Option(help="simulated time runs this many times faster")] = 1.0,
    kubeconfig_out: Annotated[
        Path | None, typer.Option(help="write a kubeconfig for this server here")
    ] = None,
    tls: Annotated[bool, typer.Option(help="serve HTTPS with a CA kubesim generates")] = False,
    tls_dir: Annotated[
        Path | None,
        typer.Option(help="where --tls writes ca.crt, server.crt, server.key (default: by the kubeconfig)"),
    ] = None,
    eks_cluster: Annotated[
        str | None, typer.Option(help="nodes follow this EKS cluster's node groups (cloud controller)")
    ] = None,
    hyperpod_cluster: Annotated[
        str | None, typer.Option(help="nodes follow this HyperPod cluster's instance groups")
    ] = None,
    aws_endpoint_url: Annotated[str | None, typer.Option(help="the AWS (emulator) endpoint")] = None,
    aws_region: Annotated[str | None, typer.Option(help="default: the scenario's region")] = None,
    cloud_poll_seconds: Annotated[float | None, typer.Option(help="real seconds between reads")] = None,
    node_join_seconds: Annotated[
        float | None, typer.Option(help="simulated seconds a node takes to join")
    ] = None,
) -> None:
    """Run the simulated Kubernetes cluster (`KUBESIM_*` variables set the cloud options too)."""
    from podium_kubesim.cli import serve
    from podium_kubesim.controllers.cloud_source import CloudConfig

    cloud = CloudConfig.from_env(
        eks_cluster=eks_cluster,
        hyperpod_cluster=hyperpod_cluster,
        endpoint_url=aws_endpoint_url,
        region=aws_region,
        poll_seconds=cloud_poll_seconds,
        join_seconds=node_join_seconds,
    )

    serve(
        host=host,
        port=port,
        scenario=scenario,
        speed=speed,
        kubeconfig_out=kubeconfig_out,
        tls=tls,
        tls_dir=tls_dir,
        cloud=cloud,
    )


def awsemu(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 5055,
    speed: Annotated[float, typer.Option(help="divides every status-transition delay")] = 1.0,
    seed: Annotated[str, typer.Option(help="'default', 'none' or a JSON seed file")] = "default",
) -> None:
    """Run emulated AWS (moto + Podium's extension) for local runs; docs/infra.md."""
    from podium_awsemu.__main__ import main as serve_awsemu

    raise typer.Exit(
        serve_awsemu(["--host", host, "--port", str(port), "--speed", str(speed), "--seed", seed])
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Option()] = "head") -> None:
    """Apply the Alembic migrations to DATABASE_URL."""
    from podium_shared.db.migrate import upgrade
    from podium_shared.settings import get_settings

    upgrade(get_settings().database_url, revision)


def up(  # noqa: PLR0917 - typer maps each parameter to an option
    data_dir: Annotated[Path, typer.Option(help="Postgres data, Redis AOF, kubeconfig, admin token")] = Path(
        ".podium"
    ),
    host: Annotated[str, typer.Option(help="address the API listens on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    speed: Annotated[float, typer.Option(help="kubesim speed factor")] = 1.0,
    scenario: Annotated[str | None, typer.Option(help="kubesim scenario")] = None,
    api_workers: Annotated[
        int, typer.Option(min=1, help="API processes (2+ for many WebSocket clients; slower start-up)")
    ] = 1,
) -> None:
    """Run the whole system on this machine; Ctrl-C stops everything."""
    from podium_cli.up import UpOptions, run_up

    raise typer.Exit(run_up(UpOptions(data_dir=data_dir, host=host, port=port, speed=speed,
                                      scenario=scenario, api_workers=api_workers)))  # fmt: skip


def bootstrap(
    cluster: Annotated[str | None, typer.Option(help="also register this cluster name")] = None,
    kubeconfig: Annotated[Path | None, typer.Option(help="the cluster's kubeconfig path")] = None,
    context: Annotated[str | None, typer.Option(help="the cluster's kubeconfig context")] = None,
) -> None:
    """Create the first admin (PODIUM_BOOTSTRAP_ADMIN_TOKEN sets its token) and optionally register a
    cluster. Idempotent: prints the token only when it created the admin."""
    from podium_shared.settings import get_settings

    from podium_cli.bootstrap import prepare_from_settings

    url = get_settings().database_url
    created = prepare_from_settings(url, cluster=cluster, kubeconfig=kubeconfig, context=context)
    if created and not get_settings().bootstrap_admin_token:
        typer.echo(f"first admin created; token (shown once): {created}")
    elif created:
        typer.echo("first admin created with the token from PODIUM_BOOTSTRAP_ADMIN_TOKEN")
    else:
        typer.echo("users exist already; nothing to bootstrap")


def probe(
    component: Annotated[str, typer.Argument(help="worker or watcher")],
) -> None:
    """Liveness for processes without an HTTP port: exits 0 if this host's heartbeat in Redis is fresh."""
    import socket

    from podium_shared.settings import get_settings

    from podium_cli.bootstrap import heartbeat_alive

    if component not in ("worker", "watcher"):
        raise typer.BadParameter("worker or watcher", param_hint="COMPONENT")
    if not heartbeat_alive(get_settings().redis_url, component, socket.gethostname()):
        typer.echo(
            f"no fresh {component} heartbeat for {socket.gethostname()} (or Redis unreachable)", err=True
        )
        raise typer.Exit(1)
