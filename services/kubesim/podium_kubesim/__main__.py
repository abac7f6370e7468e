"""`python -m podium_kubesim [--host H] [--port P] [--scenario S] [--speed X] [--kubeconfig-out PATH]
[--tls [--tls-dir DIR]] [--eks-cluster N] [--hyperpod-cluster N] [--aws-endpoint-url URL] [--aws-region R]
[--cloud-poll-seconds S] [--node-join-seconds S]` (the cloud controller: docs/kubesim.md)."""

from __future__ import annotations

import argparse

from podium_kubesim.cli import serve
from podium_kubesim.controllers.cloud_source import CloudConfig


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="podium_kubesim", description="Serve a simulated Kubernetes cluster."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6443)
    parser.add_argument("--scenario", default=None)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--kubeconfig-out", default=None)
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a CA kubesim generates")
    parser.add_argument("--tls-dir", default=None, help="where to write ca.crt, server.crt, server.key")
    cloud = parser.add_argument_group("cloud controller (off unless a cluster is named; KUBESIM_* env too)")
    cloud.add_argument("--eks-cluster", default=None, help="follow this EKS cluster's node groups")
    cloud.add_argument(
        "--hyperpod-cluster", default=None, help="follow this HyperPod cluster's instance groups"
    )
    cloud.add_argument("--aws-endpoint-url", default=None, help="the AWS (emulator) endpoint")
    cloud.add_argument("--aws-region", default=None, help="default: the scenario's region")
    cloud.add_argument("--cloud-poll-seconds", type=float, default=None, help="real seconds between reads")
    cloud.add_argument("--node-join-seconds", type=float, default=None, help="simulated seconds to join")
    args = parser.parse_args()
    config = CloudConfig.from_env(
        eks_cluster=args.eks_cluster,
        hyperpod_cluster=args.hyperpod_cluster,
        endpoint_url=args.aws_endpoint_url,
        region=args.aws_region,
        poll_seconds=args.cloud_poll_seconds,
        join_seconds=args.node_join_seconds,
    )
    serve(
        args.host,
        args.port,
        args.scenario,
        args.speed,
        args.kubeconfig_out,
        tls=args.tls,
        tls_dir=args.tls_dir,
        cloud=config,
    )


if __name__ == "__main__":
    main()
