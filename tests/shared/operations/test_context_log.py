"""A handler's log lines reach the users who may see the operation: its requester, and namespace-scoped
users of its namespace (the WebSocket filter reads `requested_by` and `namespace` off the event)."""

from __future__ import annotations

import uuid

from podium_shared.auth.principal import Principal
from podium_shared.db.session import session_factory
from podium_shared.models.user import Role
from podium_shared.operations import celery_app
from podium_shared.operations.context import ExecutionContext
from podium_shared.realtime.stream import read_after
from podium_shared.realtime.subscription import Subscription
from podium_shared.settings import PodiumSettings
from redis import Redis


def test_log_lines_carry_requester_and_namespace_for_the_ws_filter(settings: PodiumSettings) -> None:
    celery_app.configure(settings)
    cluster = f"log-{uuid.uuid4().hex[:8]}"
    ctx = ExecutionContext(
        operation_id=uuid.uuid4(),
        cluster=cluster,
        kind="scale",
        namespace="team-a",
        attempt=1,
        requested_by="alice",
        settings=settings,
        sessions=session_factory(settings.database_url),
        lock_token=uuid.uuid4(),
    )
    ctx.log("scaled web to 3")

    with Redis.from_url(settings.redis_url) as redis:
        _, events = read_after(redis, cluster, "0-0")
    [line] = [ev for ev in events if ev.topic == "operation_logs"]
    assert line.object["requested_by"] == "alice"
    assert line.object["namespace"] == "team-a"

    def sees(principal: Principal) -> bool:
        return Subscription.create("s", cluster, "operation_logs", principal).classify(line) == "LOG"

    assert sees(Principal("bob", Role.viewer, ["team-a"]))  # scoped to the operation's namespace
    assert sees(Principal("alice", Role.operator, ["elsewhere"]))  # the requester, wherever scoped
    assert not sees(Principal("carol", Role.viewer, ["team-b"]))
