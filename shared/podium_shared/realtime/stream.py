"""The per-cluster event stream every console reads: a bounded Redis Stream (the replay window) plus a
pub/sub channel for live fan-out. Both the watcher (cluster changes) and the operation pipeline
(operation progress) append here, so a client sees one ordered sequence per cluster.

Every append is one Lua script: the XADD and the PUBLISH (and, for the watcher, the snapshot update in
`state.py`) happen atomically, so a reader that takes the snapshot and the stream position in one
transaction never sees one without the other. Stream ids are Redis's own `<ms>-<seq>` ids: strictly
increasing per cluster, and still increasing after a Redis restart (Redis persists the last id)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson
from redis import Redis
from redis.exceptions import NoScriptError, ResponseError

from podium_shared.realtime.keys import channel, stream_key

__all__ = [
    "StreamEvent",
    "WindowInfo",
    "channel",
    "compare_ids",
    "publish",
    "publish_if_newer",
    "stream_key",
]

# Replay window: the newest N events per cluster, and (trimmed by the watcher) at most MAX_AGE seconds.
STREAM_MAXLEN = 100_000
STREAM_MAX_AGE_SECONDS = 600.0

_PUBLISH_LUA = """
local fields = {'topic', ARGV[2], 'event', ARGV[3], 'object', ARGV[4]}
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', unpack(fields))
redis.call('PUBLISH', ARGV[6], '{"id":"' .. id .. '","cluster":' .. cjson.encode(ARGV[1]) ..
  ',"topic":' .. cjson.encode(ARGV[2]) .. ',"event":' .. cjson.encode(ARGV[3]) ..
  ',"object":' .. ARGV[4] .. '}')
return id
"""

# The same append, but only when `version` (ARGV[7]) is not older than the last one published for this
# key (KEYS[2]). Concurrent writers publish after their commits in whatever order their processes get
# to it; this keeps a reader's view of one object moving forward only (a stale state is dropped, never
# shown after a newer one).
_PUBLISH_NEWER_LUA = """
local current = tonumber(redis.call('GET', KEYS[2]) or '-1')
if tonumber(ARGV[7]) < current then return false end
redis.call('SET', KEYS[2], ARGV[7], 'EX', ARGV[8])
local fields = {'topic', ARGV[2], 'event', ARGV[3], 'object', ARGV[4]}
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', unpack(fields))
redis.call('PUBLISH', ARGV[6], '{"id":"' .. id .. '","cluster":' .. cjson.encode(ARGV[1]) ..
  ',"topic":' .. cjson.encode(ARGV[2]) .. ',"event":' .. cjson.encode(ARGV[3]) ..
  ',"object":' .. ARGV[4] .. '}')
return id
"""
_PUBLISH_NEWER_SHA = hashlib.sha1(_PUBLISH_NEWER_LUA.encode()).hexdigest()  # noqa: S324 - Redis's script names
# How long the last published version of an object is remembered: far longer than any commit-to-publish
# delay, short enough that finished operations do not accumulate keys.
VERSION_TTL_SECONDS = 86_400

# XINFO STREAM's facts about trimming; a missing stream reads as empty with nothing ever added.
_WINDOW_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'0-0', '0-0', 0, '0-0', 0} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local out = {'0-0', '0-0', 0, '0-0', 0}
for i = 1, #info, 2 do
  local k = info[i]
  if k == 'last-generated-id' then out[1] = info[i + 1]
  elseif k == 'max-deleted-entry-id' then out[2] = info[i + 1]
  elseif k == 'length' then out[3] = info[i + 1]
  elseif k == 'first-entry' and info[i + 1] then out[4] = info[i + 1][1]
  elseif k == 'entries-added' then out[5] = info[i + 1] end
end
return out
"""


def compare_ids(a: str, b: str) -> int:
    """Order two stream ids numerically (they are `<ms>-<seq>`, not comparable as strings)."""
    ka, kb = parse_id(a), parse_id(b)
    return (ka > kb) - (ka < kb)


def parse_id(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


def valid_id(value: str) -> bool:
    try:
        parse_id(value)
    except ValueError:
        return False
    return True


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class StreamEvent:
    id: str
    cluster: str
    topic: str
    event: str
    object: dict[str, Any]
    prev_labels: dict[str, str] | None = field(default=None)
    # The object's JSON as it was stored: fan-out splices it into each client's message instead of
    # serialising the same object again for every subscriber.
    raw_object: str = field(default="", compare=False, repr=False)
    # Messages already built for this event, by (subscription id, topic, event type): a thousand consoles
    # subscribed alike share one encoding (see Subscription.message). Filled during fan-out only.
    encoded: dict[tuple[str, str, str], str] = field(default_factory=dict, compare=False, repr=False)
    # Each subscription's message (or None: not for it), by `Subscription.cache_key`: subscriptions
    # that filter alike are classified once per event, not once per client. Filled during fan-out only.
    messages: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def key(self) -> tuple[int, int]:
        """The id parsed once, for the thousand comparisons of one fan-out."""
        return parse_id(self.id)

    @classmethod
    def from_entry(cls, cluster: str, entry_id: Any, fields: dict[Any, Any]) -> StreamEvent:
        f = {_s(k): _s(v) for k, v in fields.items()}
        prev = f.get("prev_labels")
        return cls(
            id=_s(entry_id), cluster=cluster, topic=f["topic"], event=f["event"],
            object=orjson.loads(f["object"]), prev_labels=orjson.loads(prev) if prev else None,
            raw_object=f["object"],
        )  # fmt: skip

    @classmethod
    def from_published(cls, raw: str | bytes) -> StreamEvent:
        text = raw.decode() if isinstance(raw, bytes) else raw
        d = orjson.loads(text)
        # The scripts put the object last, after fields that cannot contain this marker.
        marker = text.find(',"object":')
        return cls(
            id=d["id"], cluster=d["cluster"], topic=d["topic"], event=d["event"],
            object=d["object"], prev_labels=d.get("prev_labels"),
            raw_object=text[marker + len(',"object":') : -1] if marker >= 0 else "",
        )  # fmt: skip


@dataclass(frozen=True)
class WindowInfo:
    last_id: str  # the newest id ever generated ("0-0" when the stream does not exist)
    max_deleted_id: str  # the newest id removed by XDEL (trimming does not move it)
    length: int
    first_id: str  # the oldest id still in the stream ("0-0" when empty)
    entries_added: int  # every entry ever added; more than `length` means some were trimmed

    def covers(self, since: str) -> bool:
        """True when every event after `since` is still in the stream, so a replay has no gap. Trimmed
        entries all precede `first_id`; a position older than that is only safe if nothing was trimmed."""
        if self.last_id == "0-0":
            return False  # no stream (new, or lost with Redis): the client's position means nothing here
        order = compare_ids(since, self.last_id)
        if order > 0:
            return False  # an id from the future: this stream is not the one the client read
        if order == 0:
            return True  # the client has everything
        if compare_ids(since, self.max_deleted_id) < 0:
            return False
        if self.entries_added == self.length:
            return True
        return self.length > 0 and compare_ids(since, self.first_id) >= 0


def publish(redis: Redis[bytes], cluster: str, topic: str, event: str, obj: dict[str, Any]) -> str:
    """Append one event and announce it; returns its stream id (monotonic per cluster)."""
    body = json.dumps(obj, separators=(",", ":"), default=str)
    script = redis.register_script(_PUBLISH_LUA)
    result = script(
        keys=[stream_key(cluster)], args=[cluster, topic, event, body, STREAM_MAXLEN, channel(cluster)]
    )
    return _s(result)


def publish_if_newer(
    redis: Redis[bytes],
    cluster: str,
    topic: str,
    event: str,
    obj: dict[str, Any],
    *,
    version_key: str,
    version: int,
) -> str | None:
    """`publish`, unless a newer version of the same object was already published; returns the stream
    id, or None when this state was stale and dropped."""
    item = Versioned(cluster, topic, event, obj, version_key, version)
    result = publish_many_if_newer(redis, [item])[0]
    return None if result is None else _s(result)


@dataclass(frozen=True)
class Versioned:
    """One `publish_if_newer` call, for `publish_many_if_newer`."""

    cluster: str
    topic: str
    event: str
    obj: dict[str, Any]
    version_key: str
    version: int


def publish_many_if_newer(redis: Redis[bytes], items: list[Versioned]) -> list[Any]:
    """`publish_if_newer` for several objects in one round trip (a pipeline; each script call stays atomic
    on its own, in order); each one's stream id, or None when its state was stale. Called by the script's
    SHA, which a Redis that has run it knows: redis-py's `Script` in a pipeline asks SCRIPT EXISTS first,
    a second round trip for every group of accepted commands."""
    if not items:
        return []
    return settle_published(redis, items, _publish_versioned(redis, "EVALSHA", _PUBLISH_NEWER_SHA, items))


def publish_calls(items: list[Versioned]) -> list[tuple[Any, ...]]:
    """The script calls `publish_many_if_newer` makes, for a caller that sends them together with other
    commands (`operations.aftercommit`); their replies go to `settle_published`."""
    return [_call("EVALSHA", _PUBLISH_NEWER_SHA, it) for it in items]


def settle_published(redis: Redis[bytes], items: list[Versioned], replies: list[Any]) -> list[Any]:
    """`publish_many_if_newer`'s answer from the replies to `publish_calls(items)`: the calls that met
    NOSCRIPT (a Redis that lost its scripts, restarted) ran nothing and are sent again with the script's
    text; any other error raises."""
    results = list(replies)
    missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
    if missing:
        again = _publish_versioned(redis, "EVAL", _PUBLISH_NEWER_LUA, [items[i] for i in missing])
        for i, result in zip(missing, again, strict=True):
            results[i] = result
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def _call(command: str, script: str, it: Versioned) -> tuple[Any, ...]:
    return (
        command, script, 2, stream_key(it.cluster), it.version_key,
        it.cluster, it.topic, it.event, orjson.dumps(it.obj, default=str, option=orjson.OPT_NON_STR_KEYS),
        STREAM_MAXLEN, channel(it.cluster), it.version, VERSION_TTL_SECONDS,
    )  # fmt: skip


def _publish_versioned(redis: Redis[bytes], command: str, script: str, items: list[Versioned]) -> list[Any]:
    """Each item's reply, an error as its exception. One item (a group of one command) is a plain call: a
    pipeline's own bookkeeping costs more than the call."""
    calls = [_call(command, script, it) for it in items]
    # redis-py's stubs leave `execute_command` untyped.
    client: Any = redis
    if len(calls) == 1:
        try:
            return [client.execute_command(*calls[0])]
        except ResponseError as exc:  # NoScriptError among them, as a pipeline returns it
            return [exc]
    pipe: Any = redis.pipeline(transaction=False)
    for call in calls:
        pipe.execute_command(*call)
    results: list[Any] = pipe.execute(raise_on_error=False)
    return results


def window(redis: Redis[bytes], cluster: str) -> WindowInfo:
    return parse_window(redis.register_script(_WINDOW_LUA)(keys=[stream_key(cluster)]))


def window_script(redis: Any) -> Any:
    return redis.register_script(_WINDOW_LUA)


def parse_window(raw: list[Any]) -> WindowInfo:
    last, deleted, length, first, added = raw
    return WindowInfo(_s(last), _s(deleted), int(length), _s(first), int(added))


def read_after(
    redis: Redis[bytes], cluster: str, after: str, count: int = 1000
) -> tuple[WindowInfo, list[StreamEvent]]:
    """One page of events strictly after `after`, with the window read in the same transaction so the
    caller can tell whether anything between `after` and the page was trimmed away."""
    pipe = redis.pipeline(transaction=True)
    window_script(redis)(keys=[stream_key(cluster)], client=pipe)
    pipe.xrange(stream_key(cluster), min=f"({after}", max="+", count=count)
    raw_window, entries = pipe.execute()
    return parse_window(raw_window), [StreamEvent.from_entry(cluster, i, f) for i, f in entries]


def trim_by_age(redis: Redis[bytes], cluster: str, max_age_seconds: float, now_ms: int) -> int:
    """Drop events older than the window's age; approximate (~) so Redis trims whole macro-nodes."""
    min_id = f"{max(0, now_ms - int(max_age_seconds * 1000))}-0"
    return int(redis.xtrim(stream_key(cluster), minid=min_id, approximate=True))
