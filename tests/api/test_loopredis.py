"""The event loop's lean Redis connection (podium_api.loopredis), against a real Redis: replies in the
order asked, redis-py's errors, the URL's database, and a dropped connection failing its waiting calls and
reopened by the next one."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from podium_api.loopredis import LoopRedis
from podium_shared.embedded import EmbeddedRedis, free_port
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError


async def test_concurrent_calls_share_one_connection_and_get_their_own_replies(
    redis_server: EmbeddedRedis,
) -> None:
    client = LoopRedis(redis_server.url)
    key = f"test:loopredis:{uuid.uuid4().hex}"
    try:
        replies = await asyncio.gather(*(client.call("INCR", key) for _ in range(50)))
        assert replies == list(range(1, 51))
        assert await client.call("SET", key, "x") == b"OK"
        assert await client.call("GET", key) == b"x"
        assert await client.call("HGETALL", f"{key}:missing") == []
    finally:
        await client.call("DEL", key)
        await client.aclose()


async def test_error_replies_are_redis_pys_errors(redis_server: EmbeddedRedis) -> None:
    client = LoopRedis(redis_server.url)
    try:
        with pytest.raises(NoScriptError):
            await client.call("EVALSHA", "0" * 40, 0)
        with pytest.raises(ResponseError, match="unknown command"):
            await client.call("NO-SUCH-COMMAND")
        assert await client.call("PING") == b"PONG"  # the connection is still in step
    finally:
        await client.aclose()


async def test_the_urls_database_is_selected(redis_server: EmbeddedRedis) -> None:
    key = f"test:loopredis:{uuid.uuid4().hex}"
    in_3 = redis_server.url.rsplit("/", 1)[0] + "/3"
    client = LoopRedis(in_3)
    sync: Redis[bytes] = Redis.from_url(in_3)
    try:
        await client.call("SET", key, "in-3")
        assert sync.get(key) == b"in-3"
    finally:
        sync.delete(key)
        sync.close()
        await client.aclose()


async def test_a_dropped_connection_fails_its_calls_and_the_next_call_reconnects(
    redis_server: EmbeddedRedis,
) -> None:
    client = LoopRedis(redis_server.url)
    admin: Redis[bytes] = Redis.from_url(redis_server.url)
    name = f"loopredis-{uuid.uuid4().hex[:8]}"
    try:
        await client.call("CLIENT", "SETNAME", name)
        # A call that waits on the server (BLPOP on an empty list) when its connection is killed.
        waiting = asyncio.ensure_future(client.call("BLPOP", f"test:loopredis:{name}", 30))
        await _until(lambda: _connected(admin, name, blocked=True))
        admin.client_kill_filter(_type="normal", skipme=True)
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(waiting, 10)
        assert await client.call("PING") == b"PONG"
        assert not _connected(admin, name)  # a new connection: the old one's name is gone with it
    finally:
        admin.close()
        await client.aclose()


async def test_an_unreachable_redis_is_a_connection_error() -> None:
    client = LoopRedis(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(RedisConnectionError, match="cannot reach Redis"):
        await client.call("PING")


def _connected(admin: Redis[bytes], name: str, *, blocked: bool = False) -> bool:
    for info in admin.client_list():
        if info.get("name") == name:
            return not blocked or info.get("cmd") == "blpop"
    return False


async def _until(condition: object, within: float = 10) -> None:
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)
