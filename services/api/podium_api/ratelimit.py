"""Per-user token bucket in Redis, shared by every API replica. One Lua script refills and takes a token
atomically, using Redis's clock so replicas with skewed clocks agree."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import NoScriptError

from podium_api.loopredis import LoopRedis

_SCRIPT = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', key, math.ceil(burst / rate) + 1)
if KEYS[2] then
  -- A value the caller reads in the same round trip (the auth epoch): one trip per request, not two.
  return {allowed, tostring(wait), redis.call('GET', KEYS[2]) or '0'}
end
return {allowed, tostring(wait)}
"""
_SHA = hashlib.sha1(_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis names scripts by their SHA-1


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: float


class RateLimiter:
    def __init__(self, redis: Redis[bytes], *, per_second: float, burst: int) -> None:
        self._redis = redis
        self._rate = per_second
        self._burst = burst
        self._script = redis.register_script(_SCRIPT)

    def take(self, subject: str) -> Decision:
        """One request by `subject` (a username, or `addr:<ip>` for unauthenticated attempts)."""
        allowed, wait = self._script(keys=[self._key(subject)], args=[self._rate, self._burst])
        return Decision(allowed=bool(int(allowed)), retry_after_seconds=float(wait))

    async def take_and_get(self, client: LoopRedis, subject: str, key: str) -> tuple[Decision, bytes]:
        """`take` through the event loop's own connection (no thread hand-off), and the value of `key` read
        in the same round trip (b"0" when it is not set)."""
        keys = (self._key(subject), key)
        try:
            allowed, wait, value = await client.call("EVALSHA", _SHA, 2, *keys, self._rate, self._burst)
        except NoScriptError:  # a restarted Redis: load it again, as `Script` does for `take`
            allowed, wait, value = await client.call("EVAL", _SCRIPT, 2, *keys, self._rate, self._burst)
        return Decision(allowed=bool(int(allowed)), retry_after_seconds=float(wait)), bytes(value)

    @staticmethod
    def _key(subject: str) -> str:
        return f"podium:ratelimit:{subject}"
