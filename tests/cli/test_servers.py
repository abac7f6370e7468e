"""`podium bootstrap` and `podium probe`, the server-side commands compose and deploy/ run besides the
services themselves. The logic runs in-process; one subprocess each proves the command reads its settings
from the environment like a container does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from podium_cli.bootstrap import EksRef, heartbeat_alive, prepare
from podium_shared.db.session import session_factory
from podium_shared.embedded import EmbeddedRedis, free_port
from podium_shared.models.audit import AuditEvent
from podium_shared.models.cluster import Cluster
from redis import Redis
from sqlalchemy import select

TOKEN = "bootstrap-test-token-0123456789"


def podium(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podium_cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_prepare_is_idempotent_and_repoints_the_cluster(fresh_database_url: str) -> None:
    kubeconfig = Path("/etc/podium/kubeconfig")
    first = prepare(
        fresh_database_url, admin_token=TOKEN, cluster="local", kubeconfig=kubeconfig, context="a"
    )
    assert first == TOKEN
    assert prepare(fresh_database_url, cluster="local", kubeconfig=kubeconfig, context="a") is None
    assert prepare(fresh_database_url, cluster="local", kubeconfig=kubeconfig, context="b") is None
    with session_factory(fresh_database_url)() as session:
        cluster = session.get(Cluster, "local")
        assert cluster is not None
        assert (cluster.kubeconfig_path, cluster.context) == (str(kubeconfig), "b")
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("user.bootstrap") == 1
    assert actions.count("cluster.update") == 1


def test_prepare_repoints_a_kubeconfig_cluster_to_its_eks_name(fresh_database_url: str) -> None:
    """`podium up` registered `local` by kubeconfig before kubesim was reached by EKS name; a data
    directory from then is re-pointed, with the kubeconfig dropped so nothing can fall back to it."""
    prepare(
        fresh_database_url, admin_token=TOKEN, cluster="local", kubeconfig=Path("/tmp/k"), context="kubesim"
    )
    eks = EksRef("local", "us-west-2", "podium-hyperpod")
    assert prepare(fresh_database_url, cluster="local", eks=eks) is None
    assert prepare(fresh_database_url, cluster="local", eks=eks) is None
    with session_factory(fresh_database_url)() as session:
        cluster = session.get(Cluster, "local")
        assert cluster is not None
        assert (cluster.kubeconfig_path, cluster.context) == (None, None)
        assert (cluster.eks_cluster_name, cluster.region, cluster.hyperpod_cluster_name) == (
            "local",
            "us-west-2",
            "podium-hyperpod",
        )
        updates = session.scalars(select(AuditEvent).where(AuditEvent.action == "cluster.update")).all()
    assert len(updates) == 1
    assert updates[0].details["eks_cluster_name"] == "local"


def test_bootstrap_command_prints_a_generated_token_once(fresh_database_url: str) -> None:
    first = podium("bootstrap", DATABASE_URL=fresh_database_url)
    assert first.returncode == 0, first.stderr
    assert "token (shown once):" in first.stdout
    # A token the operator supplied is never echoed; an existing admin means nothing to do.
    assert prepare(fresh_database_url, admin_token=TOKEN) is None


def test_probe_follows_this_hosts_heartbeat(redis_server: EmbeddedRedis) -> None:
    redis = Redis.from_url(redis_server.url)
    host = socket.gethostname()
    key = f"podium:heartbeat:worker:{host}-4242"
    redis.delete(key)
    assert not heartbeat_alive(redis_server.url, "worker", host)
    # Another host's heartbeat (even one whose name starts with ours) does not make this one alive.
    redis.set(f"podium:heartbeat:worker:{host}x-1", "x", ex=30)
    redis.set("podium:heartbeat:worker:some-other-host-1", "x", ex=30)
    assert not heartbeat_alive(redis_server.url, "worker", host)
    redis.set(key, "2026-01-01T00:00:00+00:00", ex=30)
    assert heartbeat_alive(redis_server.url, "worker", host)
    assert not heartbeat_alive(redis_server.url, "watcher", host)
    assert not heartbeat_alive(f"redis://127.0.0.1:{free_port()}/0", "worker", host)  # unreachable

    assert podium("probe", "worker", REDIS_URL=redis_server.url).returncode == 0
    assert podium("probe", "nonsense", REDIS_URL=redis_server.url).returncode == 2
    redis.delete(key, f"podium:heartbeat:worker:{host}x-1", "podium:heartbeat:worker:some-other-host-1")
    redis.close()
