"""A cluster removed from the registry leaves nothing behind in Redis: the watcher leading it deletes its
snapshot and event stream when it stops watching it (fenced: a standby that stops deletes nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from api.fixtures import ApiSettings
from podium_shared.clusters.service import get_cluster
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedRedis
from podium_shared.realtime.keys import leader_key, meta_key, state_key, stream_key
from podium_watcher.main import Watcher
from podium_watcher.settings import WatcherSettings
from redis import Redis
from support.waiting import wait_until


def _settings(api_settings: ApiSettings, redis_url: str, watcher_id: str, ttl: float) -> WatcherSettings:
    return WatcherSettings(
        **api_settings.model_dump()
        | {
            "redis_url": redis_url,
            "watcher_id": watcher_id,
            "watcher_metrics_port": 0,
            "watcher_leader_ttl_seconds": ttl,
            "watcher_campaign_interval_seconds": 0.2,
        }
    )


@contextmanager
def _leader_and_standby(
    api_settings: ApiSettings, own_redis: EmbeddedRedis, cluster: str, redis: Redis, ttl: float
) -> Iterator[tuple[Watcher, Watcher]]:
    """Two watchers of `cluster`: one leading (its snapshot written), one standing by."""
    leader = Watcher(_settings(api_settings, own_redis.url, "leader", ttl))
    standby = Watcher(_settings(api_settings, own_redis.url, "standby", ttl))
    try:
        leader.refresh_clusters()
        wait_until(leader.clusters[cluster][1].is_leader.is_set, 30, "the leader's term")
        standby.refresh_clusters()
        wait_until(lambda: redis.hlen(state_key(cluster, "nodes")) > 0, 30, "the snapshot")
        yield leader, standby
    finally:
        leader.shutdown()
        standby.shutdown()


@pytest.fixture
def redis(own_redis: EmbeddedRedis) -> Iterator[Redis]:
    r = Redis.from_url(own_redis.url)
    yield r
    r.close()


def test_deregistered_cluster_state_is_dropped_by_its_leader_only(
    api_settings: ApiSettings, own_redis: EmbeddedRedis, watched_cluster: str, redis: Redis, database_url: str
) -> None:
    cluster = watched_cluster
    # A lease far longer than any stall of a loaded machine: were the leader's lock to lapse, the standby
    # would rightly take it to drop the state itself (the next test covers that), not what this one checks.
    with _leader_and_standby(api_settings, own_redis, cluster, redis, ttl=120.0) as (leader, standby):
        assert not standby.clusters[cluster][1].is_leader.is_set()
        assert redis.exists(stream_key(cluster), meta_key(cluster)) == 2
        with unit_of_work(session_factory(database_url)) as session:
            session.delete(get_cluster(session, cluster))

        standby.refresh_clusters()  # the standby lets go first: it must delete nothing
        assert cluster not in standby.clusters
        assert redis.hlen(state_key(cluster, "nodes")) > 0
        assert redis.exists(stream_key(cluster)) == 1

        leader.refresh_clusters()
        assert cluster not in leader.clusters
        wait_until(lambda: not redis.keys(f"podium:state:{cluster}:*"), 10, "the state keys to go")
        assert redis.exists(stream_key(cluster), leader_key(cluster)) == 0


def test_deregistered_cluster_whose_leader_died_is_dropped_by_a_standby(
    api_settings: ApiSettings, own_redis: EmbeddedRedis, watched_cluster: str, redis: Redis, database_url: str
) -> None:
    cluster = watched_cluster
    with _leader_and_standby(api_settings, own_redis, cluster, redis, ttl=2.0) as (leader, standby):
        _where, dying = leader.clusters.pop(cluster)
        dying.stop(release=False)  # a crash: the lock stays until its TTL runs out
        dying.join(10)
        with unit_of_work(session_factory(database_url)) as session:
            session.delete(get_cluster(session, cluster))
        # The standby may take the lock in a term of its own first; either way it drops the state on stop.
        heir = standby.clusters[cluster][1]
        wait_until(lambda: not redis.exists(leader_key(cluster)) or heir.is_leader.is_set(), 10,
                   "the dead leader's lock to expire")  # fmt: skip
        standby.refresh_clusters()
        assert cluster not in standby.clusters
        wait_until(lambda: not redis.keys(f"podium:state:{cluster}:*"), 10, "the state keys to go")
        assert redis.exists(stream_key(cluster), leader_key(cluster)) == 0
