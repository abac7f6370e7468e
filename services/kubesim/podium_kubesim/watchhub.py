"""Watch fan-out: one store listener turns each change into wire bytes once and queues them to every watcher.

Selector-filtered watches see what the real cacher sends: ADDED when an object starts matching, DELETED
(with its previous state) when it stops matching.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from podium_kubesim.objutil import to_json
from podium_kubesim.resources import Resource
from podium_kubesim.store import Store, WatchEvent

Converter = Callable[[dict[str, Any]], dict[str, Any]]
Predicate = Callable[[Mapping[str, Any]], bool]

MAX_QUEUED = 50_000  # a watcher this far behind is closed; its client re-lists, as with a real server


def envelope(type_: str, obj_json: bytes) -> bytes:
    return b'{"type":"' + type_.encode() + b'","object":' + obj_json + b"}\n"


def dumps(obj: Any) -> bytes:
    return to_json(obj)


class Watcher:
    def __init__(
        self,
        res: Resource,
        namespace: str | None,
        predicate: Predicate | None,
        converter: Converter | None,
    ) -> None:
        self.res = res
        self.namespace = namespace or None
        self.predicate = predicate
        self.converter = converter
        self.lines: deque[bytes] = deque()
        self.wakeup = asyncio.Event()
        self.closed = False
        self.overflowed = False

    def push(self, line: bytes) -> None:
        if self.closed:
            return
        if len(self.lines) >= MAX_QUEUED:
            self.overflowed = True
            self.close()
            return
        self.lines.append(line)
        self.wakeup.set()

    def close(self) -> None:
        self.closed = True
        self.wakeup.set()

    def sees(self, obj: Mapping[str, Any]) -> bool:
        if self.namespace and obj["metadata"].get("namespace") != self.namespace:
            return False
        return self.predicate is None or self.predicate(obj)

    def line_for(self, ev: WatchEvent) -> bytes | None:
        """The wire line this watcher gets for `ev`, or None."""
        if ev.type == "DELETED":
            return self._encode(ev, "DELETED", ev.raw) if self.sees(ev.raw) else None
        now = self.sees(ev.raw)
        before = ev.old is not None and self.sees(ev.old)
        if ev.type == "ADDED" or not before:
            return self._encode(ev, "ADDED", ev.raw) if now else None
        if now:
            return self._encode(ev, "MODIFIED", ev.raw)
        # It stopped matching: the previous state, stamped with the new resourceVersion.
        assert ev.old is not None
        old = dict(ev.old, metadata=dict(ev.old["metadata"], resourceVersion=str(ev.rv)))
        return envelope("DELETED", dumps(self.converter(old) if self.converter else old))

    def _encode(self, ev: WatchEvent, type_: str, obj: dict[str, Any]) -> bytes:
        if self.converter is not None:
            return envelope(type_, dumps(self.converter(obj)))
        return envelope(type_, ev.object_json())


class WatchHub:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._watchers: dict[str, set[Watcher]] = {}
        store.add_listener(self._on_event)

    def _on_event(self, ev: WatchEvent) -> None:
        for watcher in list(self._watchers.get(ev.resource.storage_key, ())):
            line = watcher.line_for(ev)
            if line is not None:
                watcher.push(line)

    def open(
        self,
        res: Resource,
        namespace: str | None,
        predicate: Predicate | None,
        converter: Converter | None,
        since_rv: int | None,
    ) -> Watcher:
        """Register a watcher; with `since_rv`, queue the history after it first (410 if compacted)."""
        watcher = Watcher(res, namespace, predicate, converter)
        if since_rv is not None:
            for ev in self._store.events_since(since_rv):
                if ev.resource.storage_key == res.storage_key:
                    line = watcher.line_for(ev)
                    if line is not None:
                        watcher.push(line)
        self._watchers.setdefault(res.storage_key, set()).add(watcher)
        return watcher

    def release(self, watcher: Watcher) -> None:
        watcher.close()
        self._watchers.get(watcher.res.storage_key, set()).discard(watcher)

    def close_all(self) -> int:
        count = 0
        for watchers in self._watchers.values():
            for watcher in list(watchers):
                watcher.close()
                count += 1
            watchers.clear()
        return count

    def count(self) -> int:
        return sum(len(w) for w in self._watchers.values())
