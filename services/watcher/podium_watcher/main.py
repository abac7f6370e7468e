"""The watcher process: for every registered cluster, campaign for leadership and, while leading,
stream the cluster into Redis. Also keeps a heartbeat key for /readyz and serves /metrics."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from kubernetes.client import ApiClient
from podium_shared.clusters.service import list_clusters
from podium_shared.db.session import session_factory
from podium_shared.realtime.cluster_watch import ClusterWatch
from podium_shared.realtime.keys import heartbeat_key
from podium_shared.realtime.kubeclient import api_client_for_eks, api_client_from_kubeconfig
from podium_shared.settings import PodiumSettings, get_settings, use_settings
from podium_shared.telemetry.collector import LogCollector
from prometheus_client import start_http_server
from redis import Redis
from redis.exceptions import RedisError

from podium_watcher.settings import WatcherSettings, watcher_settings

log = logging.getLogger("podium_watcher")


class Watcher:
    def __init__(self, settings: WatcherSettings) -> None:
        self.settings = settings
        self.id = settings.watcher_id or f"{socket.gethostname()}-{os.getpid()}"
        self.redis = Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5)
        self.clusters: dict[str, tuple[tuple[str | None, ...], ClusterWatch]] = {}
        self.collectors: dict[str, LogCollector] = {}
        self.stop_event = threading.Event()

    def refresh_clusters(self) -> None:
        """Start watching new clusters, stop removed ones, restart ones whose kubeconfig changed."""
        with session_factory(self.settings.database_url)() as session:
            rows = {
                c.name: (c.kubeconfig_path, c.context, c.eks_cluster_name, c.region, c.role_arn)
                for c in list_clusters(session)
            }
        for name in list(self.clusters):
            where, watch = self.clusters[name]
            if rows.get(name) != where:
                # Deregistered: nobody will read its snapshot again, so its leader deletes it (a changed
                # kubeconfig keeps it: the restarted watch converges from it).
                watch.stop(purge=name not in rows)
                watch.join(timeout=5)
                del self.clusters[name]
                collector = self.collectors.pop(name, None)
                if collector is not None:
                    collector.stop()
                    collector.join(timeout=5)
        default = str(self.settings.kubeconfig) if self.settings.kubeconfig else None
        for name, where in rows.items():
            if name in self.clusters:
                continue
            path, context, eks_name, region, role_arn = where
            factory: Callable[..., ApiClient]
            if eks_name is not None and region is not None and path is None and context is None:
                # Registered by EKS name: that cluster or an error, never the default kubeconfig.
                factory = partial(api_client_for_eks, eks_name, region, role_arn, self.settings)
            else:
                factory = partial(api_client_from_kubeconfig, path or default, context)
            watch = ClusterWatch(
                name, factory, self.redis, self.id,
                watch=self.settings.watch_tuning(), leader=self.settings.leader_tuning(),
            )  # fmt: skip
            watch.start()
            self.clusters[name] = (where, watch)
            if self.settings.log_collector_enabled:
                # Every followed container holds a connection: the pool must hold them all.
                collector = LogCollector(
                    name,
                    partial(factory, pool_size=self.settings.log_max_followers),
                    self.redis, session_factory(self.settings.database_url), self.id,
                    self.settings.collector_tuning(),
                )  # fmt: skip
                collector.start()
                self.collectors[name] = collector
            log.info("watcher %s campaigns for cluster %s", self.id, name)

    def heartbeat(self) -> None:
        try:
            self.redis.set(heartbeat_key(self.id), datetime.now(UTC).isoformat(), ex=30)
        except RedisError as exc:
            log.warning("heartbeat failed: %r", exc)

    def run(self) -> None:
        if self.settings.watcher_metrics_port:
            try:
                start_http_server(self.settings.watcher_metrics_port, addr=self.settings.watcher_metrics_host)
            except OSError as exc:
                # Metrics are not worth refusing to watch for (e.g. a second watcher on the same host).
                log.warning("no /metrics on port %s: %s", self.settings.watcher_metrics_port, exc)
        next_refresh = 0.0
        interval = min(self.settings.watcher_heartbeat_seconds, self.settings.watcher_cluster_refresh_seconds)
        elapsed = 0.0
        while not self.stop_event.is_set():
            self.heartbeat()
            if elapsed >= next_refresh:
                try:
                    self.refresh_clusters()
                except Exception:
                    log.exception("could not read the cluster registry; keeping the current clusters")
                next_refresh = elapsed + self.settings.watcher_cluster_refresh_seconds
            self.stop_event.wait(interval)
            elapsed += interval
        self.shutdown()

    def shutdown(self) -> None:
        for _where, watch in self.clusters.values():
            watch.stop()
        for collector in self.collectors.values():
            collector.stop()
        for _where, watch in self.clusters.values():
            watch.join(timeout=5)
        for collector in self.collectors.values():
            collector.join(timeout=10)
        with contextlib.suppress(RedisError):
            self.redis.delete(heartbeat_key(self.id))
        self.redis.close()


def run_watcher(settings: PodiumSettings | None = None, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or until `stop` is set); `podium watcher` calls this."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    cfg = watcher_settings(settings or get_settings())
    use_settings(cfg)  # the process's settings, as the API and the worker do (docs/architecture.md)
    watcher = Watcher(cfg)
    if stop is not None:
        watcher.stop_event = stop
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: watcher.stop_event.set())
    watcher.run()
