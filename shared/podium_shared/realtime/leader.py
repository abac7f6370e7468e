"""Leader election per cluster: a Redis lock whose value is a fencing token.

Why Redis and not a coordination.k8s.io Lease: what must never have two writers is the Redis snapshot
and stream, so the guard belongs next to them. Every write of the watcher runs in a Lua script that
first compares the leader key with the writer's token (`state.py`), which makes the token a true fence:
a leader that was paused past its TTL (GC, a frozen VM) and wakes up cannot write one event after a
standby took over. A Lease in the cluster cannot fence Redis writes, and it would need RBAC on every
cluster. The token is `<fence>:<holder>` where fence comes from INCR, so tokens only ever grow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis import Redis

from podium_shared.realtime.keys import fence_key, leader_key

_ACQUIRE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local fence = redis.call('INCR', KEYS[2])
local token = fence .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return token
"""

_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass
class LeaderLock:
    redis: Redis[bytes]
    cluster: str
    holder: str
    ttl_seconds: float = 10.0

    def __post_init__(self) -> None:
        self._acquire = self.redis.register_script(_ACQUIRE_LUA)
        self._renew = self.redis.register_script(_RENEW_LUA)
        self._release = self.redis.register_script(_RELEASE_LUA)

    @property
    def _keys(self) -> list[str]:
        return [leader_key(self.cluster), fence_key(self.cluster)]

    def try_acquire(self) -> str | None:
        """The new fencing token, or None while someone else holds the cluster."""
        token: Any = self._acquire(keys=self._keys, args=[self.holder, int(self.ttl_seconds * 1000)])
        if not token:
            return None
        return token.decode() if isinstance(token, bytes) else str(token)

    def renew(self, token: str) -> bool:
        return bool(self._renew(keys=self._keys[:1], args=[token, int(self.ttl_seconds * 1000)]))

    def release(self, token: str) -> None:
        self._release(keys=self._keys[:1], args=[token])

    def current(self) -> str | None:
        value = self.redis.get(leader_key(self.cluster))
        return value.decode() if isinstance(value, bytes) else value
