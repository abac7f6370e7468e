"""What one WebSocket subscription receives: its topic's kinds, narrowed by namespace and label
selector, and by what the user may see. Pure functions of an event, so replay, live fan-out and
snapshots all filter the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from podium_shared.auth.principal import Principal
from podium_shared.errors import Invalid
from podium_shared.kube.selectors import LabelSelector, parse_label_selector
from podium_shared.realtime.resources import OPERATION_TOPICS, TOPICS, TRAINING_RUNS_TOPIC
from podium_shared.realtime.stream import StreamEvent, parse_id


def operation_visible(principal: Principal, op: dict[str, Any]) -> bool:
    """Operations of namespaces the user can see, and always the user's own."""
    if op.get("requested_by") == principal.username:
        return True
    return principal.can_access_namespace(_op_namespace(op))


def _op_namespace(op: dict[str, Any]) -> str | None:
    ns = op.get("namespace")
    if ns is None and isinstance(op.get("params"), dict):
        ns = op["params"].get("namespace")
    return ns if isinstance(ns, str) else None


@dataclass
class Subscription:
    sid: str
    cluster: str
    topic: str
    principal: Principal
    namespace: str | None = None
    selector: LabelSelector = field(default_factory=LabelSelector)
    # Newest id delivered, parsed (see `last_id`); events at or below it are duplicates (replay and live
    # overlap on purpose).
    position: tuple[int, int] = (0, 0)
    # While replaying or sending a snapshot, live events wait here; None once the subscription is live.
    pending: list[StreamEvent] | None = field(default_factory=list)
    # Everything `message` depends on besides the event, as one string (its hash is computed once):
    # subscriptions with the same key get the same message for every event (`StreamEvent.messages`).
    # Computed at creation: a subscription's filter never changes (subscribing again replaces it).
    cache_key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        operations = any(kind in OPERATION_TOPICS for kind in self.kinds)
        selector = sorted(
            (r.key, r.op, sorted(r.values)) for r in self.selector.requirements
        )  # a frozenset's order is not canonical: equal selectors must give equal keys
        namespaces = None if self.principal.namespaces is None else sorted(self.principal.namespaces)
        self.cache_key = orjson.dumps(
            [self.sid, self.topic, self.namespace, selector, namespaces,
             self.principal.username if operations else None],  # an operation's requester sees it
        ).decode()  # fmt: skip

    @property
    def last_id(self) -> str:
        return f"{self.position[0]}-{self.position[1]}"

    @last_id.setter
    def last_id(self, value: str) -> None:
        self.position = parse_id(value)

    @classmethod
    def create(  # noqa: PLR0917 - mirrors the subscribe message
        cls, sid: str, cluster: str, topic: str, principal: Principal,
        namespace: str | None = None, label_selector: str | None = None,
    ) -> Subscription:  # fmt: skip
        if topic not in TOPICS:
            raise Invalid(f"unknown topic {topic!r}; one of {', '.join(sorted(TOPICS))}")
        return cls(sid, cluster, topic, principal, namespace, parse_label_selector(label_selector))

    @property
    def kinds(self) -> tuple[str, ...]:
        return TOPICS[self.topic]

    def sees_object(self, kind: str, obj: dict[str, Any]) -> bool:
        """Whether a snapshot object belongs to this subscription."""
        if kind == TRAINING_RUNS_TOPIC:
            return True
        if kind in OPERATION_TOPICS:
            ns = _op_namespace(obj)
            return operation_visible(self.principal, obj) and (self.namespace is None or ns == self.namespace)
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace")
        if not self.principal.can_access_namespace(ns):
            return False
        if self.namespace is not None and ns != self.namespace:
            return False
        return self.selector.matches(meta.get("labels"))

    def sees_stored(self, kind: str, key: str, raw: bytes) -> bool:
        """`sees_object` for a snapshot entry as stored (hash field `namespace/name` or `name`, JSON
        value): without a label selector a Kubernetes object's namespace is in its key, so the JSON is
        decoded only when a selector (or an operation's visibility) needs its content."""
        if kind in OPERATION_TOPICS or kind == TRAINING_RUNS_TOPIC or not self.selector.empty:
            return self.sees_object(kind, orjson.loads(raw))
        ns = key.split("/", 1)[0] if "/" in key else None
        if not self.principal.can_access_namespace(ns):
            return False
        return self.namespace is None or ns == self.namespace

    def classify(self, ev: StreamEvent) -> str | None:  # noqa: PLR0911 - one return per watch rule
        """The event type this subscription should see for `ev`, or None. Label selectors behave like a
        Kubernetes watch: an object whose labels stop matching arrives as DELETED, one that starts
        matching as ADDED (the stream carries the previous labels when they changed)."""
        if ev.topic not in self.kinds:
            return None
        if ev.topic == TRAINING_RUNS_TOPIC:
            return ev.event  # runs belong to no namespace; every viewer may read the history
        if ev.topic in OPERATION_TOPICS:
            return ev.event if self.sees_object(ev.topic, ev.object) else None
        meta = ev.object.get("metadata") or {}
        ns = meta.get("namespace")
        if not self.principal.can_access_namespace(ns) or (
            self.namespace is not None and ns != self.namespace
        ):
            return None
        now = self.selector.matches(meta.get("labels"))
        before = self.selector.matches(ev.prev_labels) if ev.prev_labels is not None else now
        if ev.event == "DELETED":
            return "DELETED" if now or before else None
        if now and not before:
            return "ADDED"
        if before and not now:
            return "DELETED"
        return ev.event if now else None

    def message(self, ev: StreamEvent) -> str | None:
        """The serialised message for `ev`, or None; advances last_id (each event is sent at most once).
        Live fan-out calls this once per client per event, so the common case is a comparison and one
        dict lookup: the first subscription of its kind classifies and encodes, the rest reuse it."""
        key = ev.key
        if key <= self.position:
            return None
        self.position = key
        try:
            return ev.messages[self.cache_key]
        except KeyError:
            msg = ev.messages[self.cache_key] = self._build(ev)
            return msg

    def _build(self, ev: StreamEvent) -> str | None:
        event = self.classify(ev)
        if event is None:
            return None
        # Keyed by what the bytes depend on, so different filters that pass the event share one string
        # (and the API frames it once: hub.text_frame).
        key = (self.sid, self.topic, event)
        cached = ev.encoded.get(key)
        if cached is None:
            head = orjson.dumps(
                {"type": "event", "subscription": self.sid, "id": ev.id, "cluster": ev.cluster,
                 "topic": self.topic, "kind": ev.topic, "event": event},
            ).decode()  # fmt: skip
            raw = ev.raw_object or orjson.dumps(ev.object).decode()
            cached = ev.encoded[key] = head[:-1] + ',"object":' + raw + "}"
        return cached
