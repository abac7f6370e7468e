"""The worker's Redis heartbeat, which /readyz counts."""

from __future__ import annotations

from podium_shared.embedded import EmbeddedRedis
from podium_worker.heartbeat import KEY_PREFIX, TTL_SECONDS, Heartbeat
from redis import Redis


def test_heartbeat_sets_an_expiring_key_and_removes_it_on_stop(redis_server: EmbeddedRedis) -> None:
    beat = Heartbeat(redis_server.url, interval=0.05).start()
    with Redis.from_url(redis_server.url) as redis:
        try:
            assert beat.key.startswith(KEY_PREFIX)
            assert redis.exists(beat.key)
            assert 0 < redis.ttl(beat.key) <= TTL_SECONDS
        finally:
            beat.stop()
        assert not redis.exists(beat.key)
