"""The loop every live feed runs: Redis pub/sub as a doorbell in front of a replayable source (the
cluster's event stream, the kept log lines). After each (re)subscription the feed first catches up from
its last id in the source, and only then is it ready; a lost connection is retried with jittered
exponential backoff. Subscribing before catching up is what makes a reconnect gap-free: whatever is
published meanwhile arrives on the channel, and the feed's dispatch skips ids it already delivered."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import NoReturn

from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
FIRST_DELAY = 0.1
MAX_DELAY = 5.0


async def follow(
    redis: AsyncRedis[bytes],
    channel: str,
    *,
    name: str,
    ready: asyncio.Event,
    catch_up: Callable[[], Awaitable[None]],
    on_message: Callable[[bytes], None],
    on_reconnect: Callable[[], None] | None = None,
) -> NoReturn:
    """Run until cancelled: `catch_up()`, then `on_message(data)` for each published message."""
    delay = FIRST_DELAY
    while True:
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(channel)
            await catch_up()
            ready.set()
            delay = FIRST_DELAY
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    on_message(message["data"])
        except (RedisError, OSError) as exc:
            ready.clear()
            if on_reconnect is not None:
                on_reconnect()
            log.warning("%s: %r; reconnecting in %.2fs", name, exc, delay)
            await asyncio.sleep(random.uniform(0, delay))  # noqa: S311 - jitter, not cryptography
            delay = min(delay * 2, MAX_DELAY)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[attr-defined]  # stubs predate redis 5
