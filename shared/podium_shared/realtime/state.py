"""The watcher's snapshot in Redis and the one way it changes: `apply_event` (a Lua script).

The script checks the writer's fencing token, updates the kind's hash, appends the event to the stream
and publishes it, all atomically: the snapshot and the stream never disagree, and a watcher that lost
its leadership (a newer token is in the leader key) cannot write a single event more. Readers get a
kind's whole snapshot with one HGETALL, and the snapshot's position in the stream in the same MULTI."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from redis import Redis
from redis.exceptions import ResponseError

from podium_shared.kube.gpu import node_summary, pod_contribution, pod_summary
from podium_shared.realtime.keys import (
    AGGREGATES_VERSION,
    channel,
    gpu_key,
    leader_key,
    meta_key,
    state_key,
    state_prefix,
    stream_key,
    summary_key,
)
from podium_shared.realtime.stream import STREAM_MAXLEN, WindowInfo, parse_window, window_script

_APPLY_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('FENCED leadership lost')
end
local old_summary = false
if ARGV[13] == '1' then old_summary = redis.call('HGET', KEYS[5], ARGV[2]) end
if ARGV[12] == '1' then
  -- Pods: move the pod's GPU use from its old summary to its new one (kube.gpu.pod_contribution's rule),
  -- so the cluster status reads per-node totals instead of every pod.
  local function add(raw, sign)
    if not raw or raw == '' then return end
    local s = cjson.decode(raw)
    if s.phase == 'Succeeded' or s.phase == 'Failed' then return end
    local g = tonumber(s.gpus) or 0
    local fields
    if type(s.node) == 'string' and s.node ~= '' then
      fields = {{'req:' .. s.node, sign * g}, {'pods:' .. s.node, sign}}
    else
      fields = {{'unscheduled', sign * g}}
    end
    for _, f in ipairs(fields) do
      if f[2] ~= 0 and redis.call('HINCRBY', KEYS[6], f[1], f[2]) == 0 then
        redis.call('HDEL', KEYS[6], f[1])
      end
    end
  end
  add(old_summary, -1)
  add(ARGV[11], 1)
end
-- The status document is a function of the summaries (and the aggregates they drive): readers cache it
-- until this number moves.
if ARGV[13] == '1' and (old_summary or '') ~= ARGV[11] then
  redis.call('HINCRBY', KEYS[4], 'status_version', 1)
end
if ARGV[3] == 'DELETED' then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('HDEL', KEYS[5], ARGV[2])
else
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
  if ARGV[11] ~= '' then redis.call('HSET', KEYS[5], ARGV[2], ARGV[11]) end
end
local id
if ARGV[10] ~= '' then
  id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*',
    'topic', ARGV[5], 'event', ARGV[3], 'object', ARGV[4], 'prev_labels', ARGV[10])
else
  id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*',
    'topic', ARGV[5], 'event', ARGV[3], 'object', ARGV[4])
end
redis.call('HSET', KEYS[4], 'fresh_at', ARGV[9])
local msg = '{"id":"' .. id .. '","cluster":' .. cjson.encode(ARGV[8]) .. ',"topic":' ..
  cjson.encode(ARGV[5]) .. ',"event":"' .. ARGV[3] .. '"'
if ARGV[10] ~= '' then msg = msg .. ',"prev_labels":' .. ARGV[10] end
redis.call('PUBLISH', ARGV[7], msg .. ',"object":' .. ARGV[4] .. '}')
return id
"""

# Confirms the snapshot is current (no change is a fact too) without emitting an event; fenced likewise.
_TOUCH_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('FENCED leadership lost')
end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
"""

# Deletes a deregistered cluster's snapshot and stream; fenced like every other write, so only the leader's
# term can do it (and a standby that took over meanwhile keeps what it wrote).
_PURGE_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('FENCED leadership lost')
end
local n = 0
for i = 2, #KEYS do n = n + redis.call('DEL', KEYS[i]) end
return n
"""

# Rebuilds the GPU aggregates and node summaries computed by the caller from the snapshot (a term's first
# write, when the stored version differs); fenced like every write. ARGV: token, version, number of node
# summary pairs n, then n name/summary pairs, then aggregate field/value pairs.
_REBUILD_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('FENCED leadership lost')
end
redis.call('DEL', KEYS[2], KEYS[3])
local n = tonumber(ARGV[3])
for i = 4, 3 + 2 * n, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
for i = 4 + 2 * n, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[4], 'aggregates', ARGV[2])
redis.call('HINCRBY', KEYS[4], 'status_version', 1)
return 1
"""

# Annotations that can be as large as the object and no reader needs.
_HEAVY_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


class Fenced(Exception):
    """A newer leader holds the cluster: this writer must stop."""


def object_key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta['name']}" if ns else str(meta["name"])


def trim(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as stored and sent: without managedFields and the last-applied copy."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return obj
    if "managedFields" not in meta and not any(
        a in (meta.get("annotations") or {}) for a in _HEAVY_ANNOTATIONS
    ):
        return obj
    meta = {k: v for k, v in meta.items() if k != "managedFields"}
    if meta.get("annotations"):
        meta["annotations"] = {k: v for k, v in meta["annotations"].items() if k not in _HEAVY_ANNOTATIONS}
    return {**obj, "metadata": meta}


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


_SUMMARIES = {"pods": pod_summary, "nodes": node_summary}


def _summary(change: Change) -> str:
    # Pods and nodes carry a compact summary so the cluster status reads bytes per object, not the whole
    # object; the pods' summaries also feed the per-node GPU aggregates (see _APPLY_LUA).
    summarise = _SUMMARIES.get(change.kind)
    if summarise is not None and change.event != "DELETED":
        return dumps(summarise(change.obj))
    return ""


def _labels_token(labels: dict[str, str] | None) -> str:
    """An object's labels as one interned string (sorted JSON): equal labels give the same string, and the
    pods of one workload, which share their labels, share one string. The watcher remembers this for every
    object of the cluster, so a dict per pod (20,000 of them) was most of its memory after the imports."""
    return sys.intern(json.dumps(labels, sort_keys=True, separators=(",", ":"))) if labels else ""


def _labels_of(token: str) -> dict[str, str]:
    result: dict[str, str] = json.loads(token) if token else {}
    return result


@dataclass(frozen=True)
class Change:
    kind: str
    event: str  # ADDED | MODIFIED | DELETED
    obj: dict[str, Any]
    prev_labels: dict[str, str] | None = None


class StateWriter:
    """Writes one cluster's changes under a fencing token. Keeps each object's resourceVersion and labels
    in memory (valid for this leadership term only) to drop duplicates and to tell subscribers which labels
    an object had before a change, so a label-filtered subscription learns when an object leaves it."""

    def __init__(self, redis: Redis[bytes], cluster: str, token: str, maxlen: int = STREAM_MAXLEN) -> None:
        self.redis = redis
        self.cluster = cluster
        self.token = token
        self.maxlen = maxlen
        self._apply = redis.register_script(_APPLY_LUA)
        self._touch = redis.register_script(_TOUCH_LUA)
        # kind → object key → (resourceVersion, labels as `_labels_token`): all a term remembers of an object.
        self._known: dict[str, dict[str, tuple[str, str]]] = {}
        self._listing: dict[str, dict[str, tuple[str, str]]] = {}

    def _args(self, change: Change, now: float) -> tuple[list[str], list[Any]]:
        key = object_key(change.obj)
        keys = [leader_key(self.cluster), state_key(self.cluster, change.kind), stream_key(self.cluster),
                meta_key(self.cluster), summary_key(self.cluster, change.kind),
                gpu_key(self.cluster)]  # fmt: skip
        prev = dumps(change.prev_labels) if change.prev_labels is not None else ""
        args = [self.token, key, change.event, dumps(change.obj), change.kind, self.maxlen,
                channel(self.cluster), self.cluster, f"{now:.3f}", prev, _summary(change),
                "1" if change.kind == "pods" else "", "1" if change.kind in _SUMMARIES else ""]  # fmt: skip
        return keys, args

    def prepare_aggregates(self) -> bool:
        """At the start of a term: if the snapshot's GPU aggregates and node summaries were not built by this
        version (an older watcher wrote it, or it is new), rebuild them from what Redis holds, before any
        change is written (changes then keep them current). True if it rebuilt."""
        if self.redis.hget(meta_key(self.cluster), "aggregates") == AGGREGATES_VERSION.encode():
            return False
        pipe = self.redis.pipeline(transaction=True)
        pipe.hgetall(state_key(self.cluster, "nodes"))
        pipe.hgetall(summary_key(self.cluster, "pods"))
        nodes_raw, pods_raw = pipe.execute()
        summaries = [(k, dumps(node_summary(json.loads(v)))) for k, v in nodes_raw.items()]
        totals: dict[str, int] = {}
        for raw in pods_raw.values():
            node, gpus, pods = pod_contribution(json.loads(raw))
            fields = [(f"req:{node}", gpus), (f"pods:{node}", pods)] if node else [("unscheduled", gpus)]
            for field, value in fields:
                totals[field] = totals.get(field, 0) + value
        args: list[Any] = [self.token, AGGREGATES_VERSION, len(summaries)]
        for name, summary in summaries:
            args += [name, summary]
        for field, value in totals.items():
            if value:
                args += [field, value]
        try:
            self.redis.register_script(_REBUILD_LUA)(
                keys=[leader_key(self.cluster), summary_key(self.cluster, "nodes"), gpu_key(self.cluster),
                      meta_key(self.cluster)],
                args=args,
            )  # fmt: skip
        except ResponseError as exc:
            if "FENCED" in str(exc):
                raise Fenced(str(exc)) from exc
            raise
        return True

    def plan(self, kind: str, event: str, obj: dict[str, Any]) -> Change | None:
        """Turn a watch event into the change to write, or None when it changes nothing."""
        known = self._known.setdefault(kind, {})
        obj = trim(obj)
        key = object_key(obj)
        meta = obj.get("metadata") or {}
        labels = _labels_token(meta.get("labels"))
        before = known.get(key)
        if event == "DELETED":
            if before is None:
                return None
            del known[key]
            return Change(kind, "DELETED", obj, _labels_of(before[1]) if before[1] != labels else None)
        rv = str(meta.get("resourceVersion", ""))
        if before is not None and before[0] == rv:
            return None
        known[key] = (rv, labels)
        if before is None:
            return Change(kind, "ADDED", obj)
        return Change(kind, "MODIFIED", obj, _labels_of(before[1]) if before[1] != labels else None)

    def write(self, changes: Iterable[Change]) -> list[str]:
        """Apply the changes in order in one pipelined round trip; each script call is atomic."""
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        count = 0
        for change in changes:
            keys, args = self._args(change, now)
            self._apply(keys=keys, args=args, client=pipe)
            count += 1
        if not count:
            return []
        results = pipe.execute(raise_on_error=False)
        ids: list[str] = []
        for r in results:
            if isinstance(r, ResponseError):
                if "FENCED" in str(r):
                    raise Fenced(str(r))
                raise r
            ids.append(r.decode() if isinstance(r, bytes) else str(r))
        return ids

    def replace(self, kind: str, items: list[dict[str, Any]]) -> list[Change]:
        """A full list of `kind` replaces the snapshot (see `begin_list`); one page, for callers that
        already hold the whole list. The changes are returned, not written."""
        self.begin_list(kind)
        changes = self.list_page(kind, items)
        return changes + self.end_list(kind)

    # A relist arrives page by page, so neither the informer nor the writer ever holds every object of a
    # big cluster at once: each page is compared with what *Redis* holds for those keys (not with memory,
    # so a new leader or a restarted Redis converges too) and yields ADDED/MODIFIED for what differs;
    # the end of the list yields a synthesised DELETED for every stored object the list did not contain.

    def begin_list(self, kind: str) -> None:
        self._listing[kind] = {}

    def list_page(self, kind: str, items: list[dict[str, Any]]) -> list[Change]:
        listing = self._listing.setdefault(kind, {})
        objs = [trim(raw) for raw in items]
        keys = [object_key(o) for o in objs]
        stored = self.redis.hmget(state_key(self.cluster, kind), keys) if keys else []
        changes: list[Change] = []
        for obj, key, raw_old in zip(objs, keys, stored, strict=True):
            meta = obj.get("metadata") or {}
            labels = dict(meta.get("labels") or {})
            rv = str(meta.get("resourceVersion", ""))
            listing[key] = (rv, _labels_token(labels))
            if raw_old is None:
                changes.append(Change(kind, "ADDED", obj))
                continue
            old_meta = json.loads(raw_old).get("metadata") or {}
            if str(old_meta.get("resourceVersion", "")) != rv or old_meta.get("uid") != meta.get("uid"):
                old_labels = dict(old_meta.get("labels") or {})
                changes.append(Change(kind, "MODIFIED", obj, old_labels if old_labels != labels else None))
        return changes

    def end_list(self, kind: str) -> list[Change]:
        listing = self._listing.pop(kind, {})
        key = state_key(self.cluster, kind)
        vanished = [k for k in (raw.decode() for raw in self.redis.hkeys(key)) if k not in listing]
        changes: list[Change] = []
        for start in range(0, len(vanished), 500):
            chunk = vanished[start : start + 500]
            for old in self.redis.hmget(key, chunk):
                if old is not None:
                    changes.append(Change(kind, "DELETED", json.loads(old)))
        self._known[kind] = listing
        return changes

    def touch(self, synced_kinds: Iterable[str] = ()) -> None:
        fields: list[str] = ["fresh_at", f"{time.time():.3f}"]
        for kind in synced_kinds:
            fields += [f"synced:{kind}", f"{time.time():.3f}"]
        try:
            self._touch(keys=[leader_key(self.cluster), meta_key(self.cluster)], args=[self.token, *fields])
        except ResponseError as exc:
            if "FENCED" in str(exc):
                raise Fenced(str(exc)) from exc
            raise


# --- reads -------------------------------------------------------------------------------------------


def read_objects(redis: Redis[bytes], cluster: str, kind: str) -> list[dict[str, Any]]:
    """Every object of one kind, in one round trip, ordered by namespace/name."""
    return decode_hash(redis.hgetall(state_key(cluster, kind)))


def snapshot_age(redis: Redis[bytes], cluster: str, now: float | None = None) -> float | None:
    """Seconds since the watcher last confirmed this cluster's snapshot; None if it never did."""
    fresh = redis.hget(meta_key(cluster), "fresh_at")
    if fresh is None:
        return None
    return max(0.0, (now or time.time()) - float(fresh))


def read_snapshot(
    redis: Any, cluster: str, kinds: Iterable[str]
) -> tuple[WindowInfo, dict[str, list[dict[str, Any]]]]:
    """The objects of several kinds plus the stream position they correspond to, in one MULTI: events
    with a greater id are exactly the changes after this snapshot. Works with sync clients only; the
    async twin lives in `podium_shared.realtime.hub`."""
    kinds = list(kinds)
    pipe = redis.pipeline(transaction=True)
    for kind in kinds:
        pipe.hgetall(state_key(cluster, kind))
    window_script(redis)(keys=[stream_key(cluster)], client=pipe)
    results = pipe.execute()
    objects = {kind: decode_hash(results[i]) for i, kind in enumerate(kinds)}
    return parse_window(results[-1]), objects


def decode_hash(raw: Mapping[Any, Any]) -> list[dict[str, Any]]:
    # One parse of all values joined (orjson) instead of a parse per value: 20,000 pods decode ~10x faster.
    values = [raw[k] for k in sorted(raw)]
    return list(
        orjson.loads(b"[" + b",".join(v if isinstance(v, bytes) else v.encode() for v in values) + b"]")
    )


def purge(redis: Redis[bytes], cluster: str, token: str) -> int:
    """Delete every `podium:state:<cluster>:*` key and the cluster's stream, if `token` still leads it.
    (Cluster names are DNS labels, so the pattern cannot match another cluster's keys.)"""
    keys = [
        k.decode() if isinstance(k, bytes) else str(k)
        for k in redis.scan_iter(match=f"{state_prefix(cluster)}*")
    ]
    try:
        return int(
            redis.register_script(_PURGE_LUA)(
                keys=[leader_key(cluster), *keys, stream_key(cluster)], args=[token]
            )
        )
    except ResponseError as exc:
        if "FENCED" in str(exc):
            raise Fenced(str(exc)) from None
        raise
