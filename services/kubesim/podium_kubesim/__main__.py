"""`python -m podium_kubesim [--host H] [--port P] [--scenario S] [--speed X] [--kubeconfig-out PATH]
[--tls [--tls-dir DIR]]`."""

from __future__ import annotations

import argparse

from podium_kubesim.cli import serve


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
    args = parser.parse_args()
    serve(
        args.host,
        args.port,
        args.scenario,
        args.speed,
        args.kubeconfig_out,
        tls=args.tls,
        tls_dir=args.tls_dir,
    )


if __name__ == "__main__":
    main()
