"""`KubeSim`: the store, logs, clock, faults and controllers of one simulated cluster."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium_kubesim.clock import Clock
from podium_kubesim.faults import Faults
from podium_kubesim.logbook import LogBook
from podium_kubesim.recorder import EventRecorder
from podium_kubesim.resources import CUSTOM_RESOURCE_KEYS, RESOURCES, crd_object
from podium_kubesim.store import Store, WatchEvent
from podium_kubesim.watchhub import WatchHub

if TYPE_CHECKING:
    from podium_kubesim.controllers.base import Hub
    from podium_kubesim.controllers.cloud import CloudController
    from podium_kubesim.controllers.cloud_source import CloudConfig

log = logging.getLogger(__name__)

# Namespaces every cluster has before anyone creates anything.
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class KubeSim:
    def __init__(
        self,
        scenario: str | Path | None = None,
        speed: float = 1.0,
        *,
        history_size: int = 10_000,
        bookmark_interval: float = 60.0,
        fault_seed: int | None = None,
        controllers: bool = True,
        cloud: CloudConfig | None = None,
    ) -> None:
        self.scenario = scenario
        # Set (with a cluster name): nodes follow the emulated cloud's groups (controllers/cloud.py).
        self.cloud = cloud
        self.cloud_controller: CloudController | None = None
        # False serves the bare API (no scenario, no controllers): benchmarks and pure API tests.
        self.run_controllers = controllers
        self.clock = Clock(speed)
        self.store = Store(history_size=history_size)
        self.logs = LogBook()
        self.faults = Faults(seed=fault_seed)
        self.events = EventRecorder(self.store)
        self.watches = WatchHub(self.store)
        # Real servers send bookmarks about once a minute; scaled by speed so fast tests see them.
        self.bookmark_interval = bookmark_interval
        self.paused = False
        self.started = False
        self._tasks: list[asyncio.Task[Any]] = []
        # The controllers' shared cache and queues once started (tests look at queues to prove that a
        # paused controller received work and did not act on it).
        self.hub: Hub | None = None
        self.store.add_listener(self._namespace_controller)
        for name in SYSTEM_NAMESPACES:
            self.store.create(
                RESOURCES["namespaces"], None, {"metadata": {"name": name}}, manager="kube-apiserver"
            )
        crds = RESOURCES["customresourcedefinitions.apiextensions.k8s.io"]
        for key in CUSTOM_RESOURCE_KEYS:
            crd = self.store.create(crds, None, crd_object(RESOURCES[key]), manager="kube-apiserver")
            self.store.update(
                crds,
                None,
                crd["metadata"]["name"],
                crd_object(RESOURCES[key]),
                subresource="status",
                manager="apiextensions-controller",
            )

    def _namespace_controller(self, ev: WatchEvent) -> None:
        """Every new namespace gets its `default` ServiceAccount, as the serviceaccount controller does."""
        if ev.type != "ADDED" or ev.resource.key != "namespaces":
            return
        name = ev.raw["metadata"]["name"]

        def create_default_sa() -> None:
            sa = RESOURCES["serviceaccounts"]
            if self.store.peek(RESOURCES["namespaces"], None, name) is None:
                return
            if self.store.peek(sa, name, "default") is None:
                self.store.create(
                    sa, name, {"metadata": {"name": "default"}}, manager="kube-controller-manager"
                )

        # Deferred so that every watcher sees the namespace before anything created inside it.
        try:
            asyncio.get_running_loop().call_soon(create_default_sa)
        except RuntimeError:
            create_default_sa()

    async def start(self) -> None:
        if self.started:
            return
        self.started = True
        if not self.run_controllers:
            return
        from podium_kubesim import controllers, scenario  # noqa: PLC0415 - both import this module

        scenario.load(self, self.scenario)
        cloud = None
        if self.cloud is not None and self.cloud.enabled:
            from podium_kubesim.controllers.cloud import CloudController  # noqa: PLC0415 - boto3 only if used

            cloud = self.cloud_controller = CloudController(self, self.cloud)
            # Before the scheduler runs, so nothing lands on a scenario node the cloud does not have.
            await cloud.initial_sync()
        self._tasks = list(controllers.start_all(self))
        if cloud is not None:
            self._tasks.append(asyncio.create_task(cloud.run(), name=f"kubesim-{cloud.name}"))

    async def stop(self) -> None:
        self.watches.close_all()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        self.started = False

    def state(self) -> dict[str, Any]:
        """A snapshot for tests and operators: counters, not object bodies."""
        counts = {key: self.store.count(res) for key, res in RESOURCES.items() if res.alias_of is None}
        return {
            "resourceVersion": str(self.store.resource_version),
            "compactedResourceVersion": str(self.store.compacted_rv),
            "historySize": len(self.store.history),
            "paused": self.paused,
            "speed": self.clock.speed,
            "scenario": str(self.scenario) if self.scenario is not None else None,
            "watches": self.watches.count(),
            "objects": counts,
            "faults": self.faults.snapshot(),
            "controllers": [t.get_name() for t in self._tasks if not t.done()],
            "cloud": self.cloud_controller.state() if self.cloud_controller is not None else None,
        }
