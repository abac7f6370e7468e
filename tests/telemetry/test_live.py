"""The `logs` WebSocket topic against the real API, Redis and Postgres: lines published by the store's
writer (as the collector does after each commit) arrive live with ids; `since` replays from Postgres."""

from __future__ import annotations

from collections.abc import Callable

from api.fixtures import ApiUser
from podium_shared.embedded import EmbeddedRedis
from podium_shared.models.user import Role
from support.waiting import wait_until
from watcher.realtime_fixtures import ServedApi, WsClient

from telemetry.collector_fixtures import Writer


def test_lines_arrive_live_and_since_replays_what_was_missed(  # noqa: PLR0917 - pytest fixtures
    served_api: ServedApi,
    ws_client: Callable[[str], WsClient],
    viewer: ApiUser,
    make_user: Callable[..., ApiUser],
    own_redis: EmbeddedRedis,
    database_url: str,
    watched_cluster: str,
) -> None:
    writer = Writer(database_url, own_redis.url, watched_cluster, "team-a", "sft")
    early = writer.write("m", 3)
    live = ws_client(viewer.token)
    live.subscribe("l", watched_cluster, "logs", namespace="team-a", job="sft", tail=2)
    wait_until(lambda: live.of_type("snapshot", "l"), 10, "the snapshot")
    snap = live.of_type("snapshot", "l")[0]
    assert [line["line"] for line in snap["objects"]] == ["m 2", "m 3"]
    assert snap["id"] == str(early[-1]["id"])
    later = writer.write("m", 600) + writer.write("w", 5)
    wait_until(lambda: len(live.of_type("event", "l")) == 605, 20, "the live lines")
    events = live.of_type("event", "l")
    assert [e["id"] for e in events] == [str(r["id"]) for r in later]
    assert events[0]["object"]["line"] == "m 4"
    assert {e["object"]["job"] for e in events} == {"sft"}

    # A line the feed never heard of (lost doorbell) still comes with the next replay from `since`.
    missed = writer.write("m", 2, publish=False)
    resumed = ws_client(viewer.token)
    resumed.subscribe("r", watched_cluster, "logs", namespace="team-a", pod="m", since=events[-10]["id"])
    wait_until(lambda: len(resumed.of_type("event", "r")) == 6, 10, "the replay")
    assert [e["object"]["line"] for e in resumed.of_type("event", "r")] == [
        f"m {i}" for i in range(600 - 4 + 3 + 1, 604)
    ] + [str(m["line"]) for m in missed]

    # Scoped users see only their namespaces; asking for another one is refused.
    outsider = ws_client(make_user(Role.viewer, namespaces=["team-b"]).token)
    outsider.subscribe("o", watched_cluster, "logs", namespace="team-a")
    wait_until(lambda: outsider.of_type("error"), 10, "the refusal")
    assert outsider.of_type("error")[0]["code"] == "forbidden"
