"""Live fan-out classifies and encodes an event once per kind of subscription (`Subscription.cache_key`,
`StreamEvent.messages`), not once per client. Sharing must never change what a client receives: every
subscription gets exactly the message it would get if it were the only one."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from podium_shared.auth.principal import Principal
from podium_shared.models.user import Role
from podium_shared.realtime.stream import StreamEvent
from podium_shared.realtime.subscription import Subscription

NAMESPACES = ["a", "b", "c"]
principals = st.builds(
    Principal,
    username=st.sampled_from(["ann", "bob", "cyd"]),
    role=st.just(Role.viewer),
    namespaces=st.one_of(st.none(), st.lists(st.sampled_from(NAMESPACES), unique=True)),
)
selectors = st.sampled_from([None, "app=x", "app in (x,y)", "app in (y,x)", "app!=x", "!app", "app,tier=web"])
labels = st.one_of(
    st.none(), st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["x", "y", "web"]))
)


@st.composite
def subscriptions(draw: st.DrawFn) -> Subscription:
    topic = draw(st.sampled_from(["pods", "operations"]))
    sub = Subscription.create(
        draw(st.sampled_from(["s1", "s2"])), "c1", topic, draw(principals),
        draw(st.one_of(st.none(), st.sampled_from(NAMESPACES))),
        draw(selectors) if topic == "pods" else None,
    )  # fmt: skip
    sub.pending = None
    return sub


@st.composite
def events(draw: st.DrawFn, n: int) -> list[StreamEvent]:
    out = []
    for i in range(n):
        if draw(st.booleans()):
            obj: dict[str, Any] = {
                "kind": "Pod",
                "metadata": {"name": f"p{i}", "namespace": draw(st.sampled_from(NAMESPACES)),
                             "labels": draw(labels)},
            }  # fmt: skip
            prev = draw(labels)
            topic, event = "pods", draw(st.sampled_from(["ADDED", "MODIFIED", "DELETED"]))
        else:
            obj = {"id": f"op{i}", "requested_by": draw(st.sampled_from(["ann", "bob", "cyd"])),
                   "namespace": draw(st.one_of(st.none(), st.sampled_from(NAMESPACES)))}  # fmt: skip
            prev, topic, event = None, "operations", "MODIFIED"
        body = {"id": f"{1000 + i}-0", "cluster": "c1", "topic": topic, "event": event, "object": obj}
        if prev is not None:
            body["prev_labels"] = prev
        out.append(StreamEvent.from_published(json.dumps(body)))
    return out


def alone(sub: Subscription, ev: StreamEvent) -> str | None:
    """What `sub` gets for `ev` when no other subscription shares the event's caches."""
    body = {"id": ev.id, "cluster": ev.cluster, "topic": ev.topic, "event": ev.event, "object": ev.object}
    if ev.prev_labels is not None:
        body["prev_labels"] = ev.prev_labels
    fresh = StreamEvent.from_published(json.dumps(body))
    return dataclasses.replace(sub).message(fresh)  # a copy at the same position, with nothing shared


@settings(max_examples=150, deadline=None)
@given(st.lists(subscriptions(), min_size=2, max_size=12), events(6))
def test_each_subscription_gets_what_it_would_get_alone(
    subs: list[Subscription], evs: list[StreamEvent]
) -> None:
    for ev in evs:
        expected = [alone(sub, ev) for sub in subs]
        got = [sub.message(ev) for sub in subs]
        assert [None if m is None else json.loads(m) for m in got] == [
            None if m is None else json.loads(m) for m in expected
        ]


def test_subscriptions_that_filter_alike_share_one_message() -> None:
    viewer = Principal("ann", Role.viewer, ["a", "b"])
    same_scope = Principal("bob", Role.viewer, ["b", "a"])  # another user, the same namespaces
    subs = [
        Subscription.create("p", "c1", "pods", viewer, "a", "app in (x,y)"),
        Subscription.create("p", "c1", "pods", same_scope, "a", "app in (y,x)"),
    ]
    assert subs[0].cache_key == subs[1].cache_key
    other = [
        Subscription.create("q", "c1", "pods", viewer, "a", "app in (x,y)"),  # another id: another head
        Subscription.create("p", "c1", "pods", viewer, "b", "app in (x,y)"),
        Subscription.create("p", "c1", "pods", viewer, "a", "app=x"),
        Subscription.create("p", "c1", "pods", Principal("cyd", Role.viewer, ["a"]), "a", "app in (x,y)"),
    ]
    assert len({s.cache_key for s in [subs[0], *other]}) == 5
    # Operations are also visible to whoever requested them: there the user is part of the key.
    ops = [Subscription.create("o", "c1", "operations", p) for p in (viewer, same_scope)]
    assert ops[0].cache_key != ops[1].cache_key

    obj = {"kind": "Pod", "metadata": {"name": "p", "namespace": "a", "labels": {"app": "x"}}}
    ev = StreamEvent.from_published(
        json.dumps({"id": "5-0", "cluster": "c1", "topic": "pods", "event": "ADDED", "object": obj})
    )
    first, second = (s.message(ev) for s in subs)
    assert first is not None
    assert first is second  # one string: the API frames it once for both (hub.text_frame)
    assert len(ev.messages) == 1
    assert subs[0].message(ev) is None  # delivered once: its position moved past the event


def test_last_id_round_trips_through_the_parsed_position() -> None:
    sub = Subscription.create("p", "c1", "pods", Principal("ann", Role.admin, None))
    assert sub.last_id == "0-0"
    sub.last_id = "1700000000000-12"
    assert sub.position == (1700000000000, 12)
    assert sub.last_id == "1700000000000-12"
