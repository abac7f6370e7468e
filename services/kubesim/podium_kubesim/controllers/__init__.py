"""The controllers behind kubesim's API: one shared informer cache, one asyncio task per controller."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from podium_kubesim.controllers.base import Controller, Hub
from podium_kubesim.controllers.deployment import DeploymentController
from podium_kubesim.controllers.jobs import JobController
from podium_kubesim.controllers.kubelet import Kubelet
from podium_kubesim.controllers.replicaset import ReplicaSetController
from podium_kubesim.controllers.scheduler import Scheduler
from podium_kubesim.controllers.services import EndpointsController
from podium_kubesim.controllers.trainingjobs import HYPERPOD, PYTORCH, TrainingJobController
from podium_kubesim.scenario import settings_for

if TYPE_CHECKING:
    from podium_kubesim.sim import KubeSim

__all__ = ["Hub", "start_all"]


def build(sim: KubeSim) -> Hub:
    """Create the hub and every controller, fill the cache and queue what already exists (no tasks yet)."""
    settings = settings_for(sim)
    hub = Hub(sim)
    cache = hub.cache
    controllers: list[Controller] = [
        DeploymentController(sim, cache, settings),
        ReplicaSetController(sim, cache, settings),
        JobController(sim, cache, settings),
        TrainingJobController(sim, cache, settings, flavor=PYTORCH),
        TrainingJobController(sim, cache, settings, flavor=HYPERPOD),
        Scheduler(sim, cache, settings),
        Kubelet(sim, cache, settings),
        EndpointsController(sim, cache, settings),
    ]
    hub.controllers = controllers
    hub.listen()
    for c in controllers:
        c.prime()
    return hub


def start_all(sim: KubeSim) -> list[asyncio.Task[Any]]:
    """Start every controller on the running loop; cancel the returned tasks to stop them."""
    hub = build(sim)
    sim.hub = hub
    tasks = [asyncio.create_task(c.run(), name=f"kubesim-{c.name}") for c in hub.controllers]
    # Stopping the sim cancels these tasks; the last one to finish detaches the cache from the store (a
    # done callback runs even for a task cancelled before it started).
    remaining = len(tasks)

    def finished(_: asyncio.Task[Any]) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            hub.close()

    for t in tasks:
        t.add_done_callback(finished)
    return tasks
