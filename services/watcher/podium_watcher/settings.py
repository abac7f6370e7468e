"""Watcher settings (PODIUM_ prefix, like every service)."""

from __future__ import annotations

from podium_shared.realtime.cluster_watch import LeaderTuning
from podium_shared.realtime.informer import WatchTuning
from podium_shared.settings import PodiumSettings
from podium_shared.telemetry.collector import CollectorTuning
from podium_shared.telemetry.follow import FollowTuning


class WatcherSettings(PodiumSettings):
    watcher_id: str | None = None  # default: <hostname>-<pid>
    watcher_metrics_port: int = 9102  # 0 disables the /metrics server
    watcher_metrics_host: str = "127.0.0.1"
    watcher_cluster_refresh_seconds: float = 15.0  # how often the cluster registry is re-read
    watcher_heartbeat_seconds: float = 10.0
    watcher_leader_ttl_seconds: float = 10.0
    watcher_campaign_interval_seconds: float = 1.0
    watch_timeout_min_seconds: float = 300.0
    watch_timeout_max_seconds: float = 600.0
    watch_inactivity_timeout_seconds: float = 90.0
    watch_queue_size: int = 10_000
    watch_backoff_max_seconds: float = 30.0
    stream_max_events: int = 100_000
    stream_max_age_seconds: float = 600.0
    # The log collector (docs/telemetry.md): one leader per cluster follows training and download pods.
    log_collector_enabled: bool = True
    log_retention_days: float = 30.0
    log_purge_interval_seconds: float = 600.0
    log_buffer_lines: int = 2_000  # per followed container
    log_throttle_seconds: float = 2.0  # how long a reader waits for room before dropping a line
    log_batch_lines: int = 10_000
    log_max_line_bytes: int = 65_536
    log_max_followers: int = 256  # the collector's connection pool towards each API server

    def watch_tuning(self) -> WatchTuning:
        return WatchTuning(
            watch_timeout_min=self.watch_timeout_min_seconds,
            watch_timeout_max=self.watch_timeout_max_seconds,
            inactivity_timeout=self.watch_inactivity_timeout_seconds,
            queue_size=self.watch_queue_size,
            backoff_max=self.watch_backoff_max_seconds,
        )

    def leader_tuning(self) -> LeaderTuning:
        return LeaderTuning(
            ttl_seconds=self.watcher_leader_ttl_seconds,
            campaign_interval=self.watcher_campaign_interval_seconds,
            stream_maxlen=self.stream_max_events,
            stream_max_age=self.stream_max_age_seconds,
        )

    def collector_tuning(self) -> CollectorTuning:
        return CollectorTuning(
            ttl_seconds=self.watcher_leader_ttl_seconds,
            campaign_interval=self.watcher_campaign_interval_seconds,
            batch_lines=self.log_batch_lines,
            retention_seconds=self.log_retention_days * 86_400,
            purge_interval=self.log_purge_interval_seconds,
            follow=FollowTuning(
                buffer_lines=self.log_buffer_lines,
                throttle_seconds=self.log_throttle_seconds,
                max_line_bytes=self.log_max_line_bytes,
            ),
        )


def watcher_settings(settings: PodiumSettings) -> WatcherSettings:
    if isinstance(settings, WatcherSettings):
        return settings
    return WatcherSettings(**settings.model_dump())
