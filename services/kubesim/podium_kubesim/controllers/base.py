"""Informer-style cache and work queues shared by the controllers.

One store listener keeps an indexed copy of the objects the controllers read (pods by owner, node and
namespace; owned objects by owner uid) and then hands each change to every controller, which turns it into
keys on its own queue (kopf-style: handlers only map events to keys; `reconcile(key)` reads current state).
Everything runs on the sim's single event loop, so neither the cache nor the queues need locks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

from podium_kubesim.controllers.podutil import Obj, controller_uid, key_of, meta
from podium_kubesim.errors import ApiError
from podium_kubesim.resources import Resource, resource

if TYPE_CHECKING:
    from podium_kubesim.scenario import SimSettings
    from podium_kubesim.sim import KubeSim
    from podium_kubesim.store import WatchEvent

log = logging.getLogger("podium_kubesim.controllers")

# The kinds any controller reads; changes to anything else (events, leases, secrets …) are ignored cheaply.
WATCHED = (
    "pods",
    "nodes",
    "services",
    "endpoints",
    "replicasets.apps",
    "deployments.apps",
    "jobs.batch",
    "pytorchjobs.kubeflow.org",
    "hyperpodpytorchjobs.sagemaker.amazonaws.com",
)

Key = tuple[str, str]


async def wait_unpaused(sim: KubeSim) -> None:
    """Block while fault injection has paused the controllers."""
    # `sim.paused` is a plain flag flipped by the admin API; a 50 ms poll is plenty and needs no hook there.
    while getattr(sim, "paused", False):  # noqa: ASYNC110
        await asyncio.sleep(0.05)


class Cache:
    def __init__(self) -> None:
        self.objects: dict[str, dict[Key, Obj]] = {k: {} for k in WATCHED}
        self.owned: dict[str, dict[str, set[Key]]] = {k: {} for k in WATCHED}  # kind -> owner uid -> keys
        self.pods_by_node: dict[str, set[Key]] = {}
        self.pods_by_ns: dict[str, set[Key]] = {}

    def get(self, kind: str, key: Key) -> Obj | None:
        return self.objects[kind].get(key)

    def all(self, kind: str) -> Iterable[Obj]:
        return self.objects[kind].values()

    def owned_by(self, kind: str, uid: str) -> list[Obj]:
        objs = self.objects[kind]
        return [objs[k] for k in self.owned[kind].get(uid, ()) if k in objs]

    def pods_on(self, node: str) -> list[Obj]:
        pods = self.objects["pods"]
        return [pods[k] for k in self.pods_by_node.get(node, ()) if k in pods]

    def pods_in(self, namespace: str) -> list[Obj]:
        pods = self.objects["pods"]
        return [pods[k] for k in self.pods_by_ns.get(namespace, ()) if k in pods]

    def apply(self, kind: str, etype: str, obj: Obj, old: Obj | None) -> None:
        key = key_of(obj)
        store = self.objects[kind]
        prev = store.get(key)
        if prev is not None:
            self._unindex(kind, key, prev)
        if etype == "DELETED":
            store.pop(key, None)
            return
        store[key] = obj
        self._index(kind, key, obj)

    def _index(self, kind: str, key: Key, obj: Obj) -> None:
        uid = controller_uid(obj)
        if uid:
            self.owned[kind].setdefault(uid, set()).add(key)
        if kind == "pods":
            node = (obj.get("spec") or {}).get("nodeName")
            if node:
                self.pods_by_node.setdefault(node, set()).add(key)
            self.pods_by_ns.setdefault(key[0], set()).add(key)

    def _unindex(self, kind: str, key: Key, obj: Obj) -> None:
        uid = controller_uid(obj)
        if uid:
            keys = self.owned[kind].get(uid)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.owned[kind][uid]
        if kind == "pods":
            node = (obj.get("spec") or {}).get("nodeName")
            if node and node in self.pods_by_node:
                self.pods_by_node[node].discard(key)
            if key[0] in self.pods_by_ns:
                self.pods_by_ns[key[0]].discard(key)


class WorkQueue:
    """A de-duplicating FIFO of keys with delayed adds (delays are already in real seconds)."""

    def __init__(self) -> None:
        self._items: dict[Hashable, None] = {}
        self._ready = asyncio.Event()
        self._timers: dict[Hashable, asyncio.TimerHandle] = {}

    def add(self, key: Hashable) -> None:
        self._items[key] = None
        self._ready.set()

    def add_after(self, key: Hashable, real_seconds: float) -> None:
        if real_seconds <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        existing = self._timers.get(key)
        when = loop.time() + real_seconds
        # Keep the earliest pending wake-up for a key; a later request would only delay work.
        if existing is not None and not existing.cancelled() and existing.when() <= when:
            return
        if existing is not None:
            existing.cancel()
        self._timers[key] = loop.call_at(when, self._fire, key)

    def _fire(self, key: Hashable) -> None:
        self._timers.pop(key, None)
        self.add(key)

    async def wait(self) -> None:
        await self._ready.wait()

    def drain(self) -> list[Hashable]:
        items = list(self._items)
        self._items.clear()
        self._ready.clear()
        return items

    def close(self) -> None:
        for t in self._timers.values():
            t.cancel()
        self._timers.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items


class Controller:
    """Base: subclasses implement `on_event` (map a change to keys) and `reconcile(key)` (synchronous)."""

    name = "controller"

    def __init__(self, sim: KubeSim, cache: Cache, settings: SimSettings) -> None:
        self.sim = sim
        self.store = sim.store
        self.cache = cache
        self.settings = settings
        self.queue = WorkQueue()
        self._failures: dict[Any, int] = {}

    def on_event(self, kind: str, etype: str, obj: Obj, old: Obj | None) -> None:
        raise NotImplementedError

    def reconcile(self, key: Any) -> None:
        raise NotImplementedError

    def prime(self) -> None:
        """Called once after the cache is filled: enqueue whatever already exists."""

    def later(self, key: Any, sim_seconds: float) -> None:
        self.queue.add_after(key, self.sim.clock.delay(sim_seconds))

    def record(
        self, involved: Obj, reason: str, message: str, etype: str = "Normal", host: str | None = None
    ) -> None:
        try:
            self.sim.events.record(involved, reason, message, type=etype, component=self.component, host=host)
        except Exception:  # an event is best effort, as in the real event broadcaster
            log.debug("event %s for %s dropped", reason, meta(involved).get("name"), exc_info=True)

    component = "kubesim"

    async def run(self) -> None:
        try:
            while True:
                await self.queue.wait()
                await wait_unpaused(self.sim)
                keys = self.queue.drain()
                for i, key in enumerate(keys):
                    if getattr(self.sim, "paused", False):
                        for rest in keys[i:]:
                            self.queue.add(rest)
                        break
                    self._reconcile_safely(key)
                    if i % 64 == 63:
                        await asyncio.sleep(0)  # let the API serve requests during a big batch
                await asyncio.sleep(0)
        finally:
            self.queue.close()

    def _reconcile_safely(self, key: Any) -> None:
        try:
            self.reconcile(key)
        except ApiError as exc:
            if exc.code == 404:
                # The object went away under us; the DELETED event re-queues whatever depends on it.
                self._failures.pop(key, None)
                return
            log.info("%s: %s on %s, retrying", self.name, exc.message, key)
            self._retry(key)
        except Exception:
            log.exception("%s: reconcile of %s failed, retrying", self.name, key)
            self._retry(key)
        else:
            self._failures.pop(key, None)

    def _retry(self, key: Any) -> None:
        """Exponential back-off per key (0.2 s doubling to 10 s real), like client-go's rate-limited queue."""
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        self.queue.add_after(key, min(10.0, 0.2 * 2**n))


class Hub:
    """Owns the cache, registers the single store listener and fans events out to the controllers."""

    def __init__(self, sim: KubeSim) -> None:
        self.sim = sim
        self.cache = Cache()
        self.controllers: list[Controller] = []
        self._kinds: dict[Resource, str | None] = {}

    def listen(self) -> None:
        self.sim.store.add_listener(self._on_event)
        for kind in WATCHED:
            res = resource(kind)
            for obj in self.sim.store.list_raw(res):
                self.cache.apply(kind, "ADDED", obj, None)

    def close(self) -> None:
        self.sim.store.remove_listener(self._on_event)

    def _kind(self, res: Resource) -> str | None:
        kind = self._kinds.get(res, "?")
        if kind == "?":
            kind = res.key if res.key in WATCHED and res.alias_of is None else None
            self._kinds[res] = kind
        return kind

    def _on_event(self, ev: WatchEvent) -> None:
        kind = self._kind(ev.resource)
        if kind is None or ev.type not in ("ADDED", "MODIFIED", "DELETED"):
            return
        # `raw` is the stored object itself: stored objects are copy-on-write, so keeping and reading the
        # reference is safe and saves a deep copy per event (the cache must never mutate it).
        self.cache.apply(kind, ev.type, ev.raw, ev.old)
        for c in self.controllers:
            try:
                c.on_event(kind, ev.type, ev.raw, ev.old)
            except Exception:  # never let a controller bug break an API write
                log.exception("%s: event handler failed", c.name)
