"""What a transaction sends to Redis after its commit goes out together, and each part that sent some of it
gets its own replies: errors are per command, and a connection that fails fails every command."""

from __future__ import annotations

from typing import Any

import pytest
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedRedis, free_port
from podium_shared.operations import aftercommit
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError


@pytest.fixture
def redis(redis_server: EmbeddedRedis) -> Redis[bytes]:
    return Redis.from_url(redis_server.url)


def test_replies_come_back_in_order_with_each_error_as_its_own(redis: Redis[bytes]) -> None:
    redis.delete("ac:list", "ac:string")
    redis.set("ac:string", "x")
    replies = aftercommit.call_many(
        redis,
        [
            ("LPUSH", "ac:list", b"a", b"b"),
            ("LPUSH", "ac:string", b"c"),  # WRONGTYPE
            ("EVALSHA", "0" * 40, 0),  # a script Redis never saw
            ("LLEN", "ac:list"),
        ],
    )
    assert replies[0] == 2
    assert isinstance(replies[1], ResponseError)
    assert "WRONGTYPE" in str(replies[1])
    assert isinstance(replies[2], NoScriptError)
    assert replies[3] == 2
    # The connection went back to the pool in a usable state.
    assert redis.lrange("ac:list", 0, -1) == [b"b", b"a"]


def test_every_part_of_a_transaction_gets_its_own_replies_once_it_commits(
    database_url: str, redis: Redis[bytes]
) -> None:
    redis.delete("ac:one", "ac:two")
    seen: dict[str, list[Any]] = {}
    extra: list[bytes] = []

    def settle(name: str) -> aftercommit.Settle:
        def record(replies: list[Any]) -> None:
            seen[name] = replies
            if name == "first":
                raise RuntimeError("a part that fails to settle does not stop the others")

        return record

    with unit_of_work(session_factory(database_url)) as session:
        assert aftercommit.add(
            session, "first", lambda: redis, lambda: [("RPUSH", "ac:one", b"1")], settle("first")
        )
        # Built after the commit: what was added to the part's state meanwhile goes out too.
        assert aftercommit.add(
            session,
            "second",
            lambda: redis,
            lambda: [("RPUSH", "ac:two", *extra), ("GET", "ac:two")],
            settle("second"),
        )
        assert not aftercommit.add(session, "first", lambda: redis, lambda: [], settle("ignored"))
        extra += [b"a", b"b"]
        assert seen == {}  # nothing before the commit
    assert seen["first"] == [1]
    assert seen["second"][0] == 2
    assert isinstance(seen["second"][1], ResponseError)  # GET on a list: that command's error only
    assert redis.lrange("ac:two", 0, -1) == [b"a", b"b"]


def test_a_rolled_back_transaction_sends_nothing(database_url: str, redis: Redis[bytes]) -> None:
    redis.delete("ac:rolled")
    with session_factory(database_url)() as session:
        aftercommit.add(session, "p", lambda: redis, lambda: [("RPUSH", "ac:rolled", b"x")], lambda _r: None)
        session.rollback()
        session.commit()  # the next transaction has no parts
    assert redis.llen("ac:rolled") == 0


def test_an_unreachable_redis_fails_every_command_of_every_part(database_url: str) -> None:
    dead = Redis(port=free_port(), socket_connect_timeout=1)
    seen: dict[str, list[Any]] = {}
    with unit_of_work(session_factory(database_url)) as session:
        for name, calls in (("a", [("PING",)]), ("b", [("PING",), ("PING",)])):
            aftercommit.add(
                session, name, lambda: dead, lambda c=calls: c, lambda r, n=name: seen.__setitem__(n, r)
            )
    assert [len(seen["a"]), len(seen["b"])] == [1, 2]
    assert all(isinstance(r, RedisConnectionError) for r in seen["a"] + seen["b"])


def test_a_part_that_cannot_build_its_commands_leaves_the_others_to_go(
    database_url: str, redis: Redis[bytes]
) -> None:
    redis.delete("ac:built")
    seen: list[Any] = []

    def broken() -> list[tuple[Any, ...]]:
        raise RuntimeError("no message for you")

    with unit_of_work(session_factory(database_url)) as session:
        aftercommit.add(session, "broken", lambda: redis, broken, lambda _r: seen.append("broken settled"))
        aftercommit.add(session, "fine", lambda: redis, lambda: [("RPUSH", "ac:built", b"x")], seen.append)
    assert seen == [[1]]
    assert redis.lrange("ac:built", 0, -1) == [b"x"]
