"""A lean Redis connection for the accept path's one call per request (the rate-limit token and the auth
epoch, `RateLimiter.take_and_get`), owned by one event loop.

redis-py's asyncio client spent ~0.4 ms of CPU on that call (a pool check-out, two asyncio locks, a
timeout scope and a parser per reply: ~12 % of an accept; docs/performance-accept.md, "Fourth pass"). This is
one asyncio Protocol on one socket: a command is packed by hiredis and written, its future waits in a FIFO,
and hiredis's reader hands each reply to the oldest waiter. Concurrent callers share the socket, so requests
that arrive together are pipelined for free.

What a caller sees is redis-py's: `redis.exceptions.ConnectionError` when Redis cannot be reached or the
connection drops (every waiting call fails; the next call reconnects), `NoScriptError` for an unknown
script, `ResponseError` for any other error reply. The URL is the one every other client uses
(`redis://`, `rediss://`, `unix://`, with a password and a database number)."""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any, cast

import hiredis
from redis.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

CONNECT_TIMEOUT_SECONDS = 5.0


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self._reader = hiredis.Reader()
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's transports do not derive from asyncio's classes.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a caller that was cancelled still had its reply read off the socket
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(RedisConnectionError("the Redis connection was lost"))

    def call(self, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        if self.closed or self._transport is None:
            raise RedisConnectionError("the Redis connection is closed")
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        self._transport.write(hiredis.pack_command(args))
        return waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class LoopRedis:
    """One connection, opened on first use and again after it drops. Belongs to the event loop that first
    used it (asyncio transports do)."""

    def __init__(self, url: str) -> None:
        self._params = parse_url(url)
        self._tls = url.startswith("rediss://")
        self._protocol: _Protocol | None = None
        self._lock = asyncio.Lock()

    async def call(self, *args: Any) -> Any:
        """One command's reply (hiredis's types: bytes, int, lists of them)."""
        protocol = self._protocol
        if protocol is None or protocol.closed:
            protocol = await self._connect()
        return _raise_errors(await protocol.call(args))

    async def aclose(self) -> None:
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None

    async def _connect(self) -> _Protocol:
        async with self._lock:
            if self._protocol is not None and not self._protocol.closed:
                return self._protocol  # another caller connected while this one waited for the lock
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                    protocol = await self._open()
                    await self._handshake(protocol)
            except (OSError, TimeoutError) as exc:
                raise RedisConnectionError(f"cannot reach Redis: {exc or type(exc).__name__}") from exc
            self._protocol = protocol
            return protocol

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        params = self._params
        if "path" in params:
            _, protocol = await loop.create_unix_connection(_Protocol, params["path"])
        else:
            context = ssl.create_default_context() if self._tls else None
            _, protocol = await loop.create_connection(
                _Protocol, params.get("host", "localhost"), params.get("port", 6379), ssl=context
            )
        return protocol

    async def _handshake(self, protocol: _Protocol) -> None:
        params = self._params
        try:
            if params.get("password"):
                user = [params["username"]] if params.get("username") else []
                _raise_errors(await protocol.call(("AUTH", *user, params["password"])))
            if params.get("db"):
                _raise_errors(await protocol.call(("SELECT", params["db"])))
        except BaseException:
            protocol.close()
            raise


def _raise_errors(reply: Any) -> Any:
    if isinstance(reply, hiredis.ReplyError):
        message = str(reply)
        if message.startswith("NOSCRIPT"):
            raise NoScriptError(message)
        raise ResponseError(message)
    return reply
