"""Kubelet: drive bound pods through ContainerCreating -> Running -> Ready, crash loops, completion and
graceful termination, writing container logs that look like the real workload.

Knobs (pod annotations; scenario `faults` can name pods by glob instead):
  kubesim.podium.dev/crash: "true"         the container exits 1 soon after starting (CrashLoopBackOff)
  kubesim.podium.dev/fail: "true"          a run-to-completion container exits 1 (pod Failed)
  kubesim.podium.dev/fail-reason: "..."    a training container fails with this error (also env
                                           KUBESIM_FAIL_REASON; KUBESIM_FAIL_AT_STEP says after which step)
  kubesim.podium.dev/never-ready: "true"   runs but never passes readiness
  kubesim.podium.dev/run-seconds: "5"      run time of a run-to-completion container
  kubesim.podium.dev/train-steps: "200"    training steps (also env KUBESIM_TRAIN_STEPS)
  kubesim.podium.dev/step-seconds: "0.5"   time per training step (also env KUBESIM_STEP_SECONDS)
All times are simulated seconds, divided by the speed factor.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from podium_kubesim.controllers.base import Controller, Key
from podium_kubesim.controllers.podutil import (
    Obj,
    annotations_of,
    is_terminal,
    key_of,
    meta,
    now_ts,
    run_to_completion,
    set_condition,
    short_hash,
)
from podium_kubesim.controllers.workloads import WorkloadRunner
from podium_kubesim.resources import resource

PODS = resource("pods")
ANN = "kubesim.podium.dev/"
log = logging.getLogger("podium_kubesim.kubelet")


@dataclass
class PodRun:
    uid: str
    stage: str  # pulling | starting | running | backoff | done | killing
    due: float = 0.0  # loop time of the next transition
    ready_at: float | None = None
    crash_at: float | None = None
    restarts: int = 0
    starting_writers: int = (
        0  # start-up log writers still writing; the engine is not ready before they finish
    )
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def cancel(self) -> None:
        for t in self.tasks:
            t.cancel()
        self.tasks.clear()
        self.starting_writers = 0


def _flag(pod: Obj, name: str) -> bool:
    return str(annotations_of(pod).get(ANN + name, "")).lower() in ("true", "1", "yes")


class Kubelet(Controller):
    name = "kubelet"
    component = "kubelet"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runs: dict[Key, PodRun] = {}
        self._ip_counter = 0
        self.workloads = WorkloadRunner(self)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _after(self, key: Key, sim_seconds: float) -> float:
        delay = self.sim.clock.delay(sim_seconds)
        self.queue.add_after(key, delay)
        return self._now() + delay

    def on_event(self, kind: str, etype: str, obj: Obj, old: Obj | None) -> None:
        if kind == "nodes" and etype == "DELETED":
            self._orphaned(str(meta(obj).get("name")))
            return
        if kind != "pods":
            return
        if etype == "DELETED":
            # The container logs go with the pod (a follower still reads what was written, then ends).
            self.sim.logs.drop(str(meta(obj).get("namespace")), str(meta(obj).get("name")))
        node = (obj.get("spec") or {}).get("nodeName")
        if not node:
            return
        if etype == "DELETED" or old is None:
            self.queue.add(key_of(obj))
            return
        if (old.get("spec") or {}).get("nodeName") != node or meta(old).get("deletionTimestamp") != meta(
            obj
        ).get("deletionTimestamp"):
            self.queue.add(key_of(obj))

    def prime(self) -> None:
        for key, pod in self.cache.objects["pods"].items():
            if (pod.get("spec") or {}).get("nodeName"):
                self.queue.add(key)

    def _orphaned(self, node: str) -> None:
        """PodGC: pods bound to a node that no longer exists are force-deleted (no kubelet to stop them)."""
        for pod in self.cache.pods_on(node):
            ns, name = key_of(pod)
            if self.store.peek(PODS, ns, name) is not None:
                self.store.delete(PODS, ns, name, grace_period_seconds=0, manager="pod-garbage-collector")

    # --- state machine ------------------------------------------------------------------------

    def _current_run(self, key: Key, pod: Obj | None) -> PodRun | None:
        """The pod's run state, dropped when the pod is gone or was replaced by a namesake."""
        run = self.runs.get(key)
        if run is not None and (pod is None or run.uid != meta(pod).get("uid")):
            run.cancel()
            del self.runs[key]
            return None
        return run

    def reconcile(self, key: Any) -> None:
        pod = self.cache.get("pods", key)
        run = self._current_run(key, pod)
        node_name = (pod.get("spec") or {}).get("nodeName") if pod is not None else None
        if pod is None or not node_name or (is_terminal(pod) and not meta(pod).get("deletionTimestamp")):
            return
        if meta(pod).get("deletionTimestamp"):
            self._terminate(pod, key, run)
            return
        if run is None:
            if self.cache.get("nodes", ("", node_name)) is None:
                return  # bound to a node that does not exist: stays Pending, like a real orphan binding
            self._begin(pod, key)
            return
        if self._now() + 1e-3 < run.due:
            self.queue.add_after(key, run.due - self._now())
            return
        step = {
            "pulling": self._pulled,
            "starting": self._started,
            "running": self._running,
            "backoff": self._restart,
        }.get(run.stage)
        if step is not None:
            step(pod, key, run)

    def _host(self, pod: Obj) -> str:
        return str((pod.get("spec") or {}).get("nodeName") or "")

    def _containers(self, pod: Obj) -> list[Obj]:
        return list((pod.get("spec") or {}).get("containers") or [])

    def _begin(self, pod: Obj, key: Key) -> None:
        node = self.cache.get("nodes", ("", self._host(pod))) or {}
        host_ip = next(
            (
                a.get("address")
                for a in (node.get("status") or {}).get("addresses") or []
                if a.get("type") == "InternalIP"
            ),
            "10.0.0.1",
        )
        names = [c.get("name") for c in self._containers(pod)]

        def put(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["phase"] = "Pending"
            st["hostIP"] = host_ip
            st["hostIPs"] = [{"ip": host_ip}]
            st.setdefault("startTime", now_ts())
            set_condition(st, "PodReadyToStartContainers", "False")
            set_condition(st, "Initialized", "True")
            msg = f"containers with unready status: [{' '.join(str(n) for n in names)}]"
            set_condition(st, "Ready", "False", "ContainersNotReady", msg)
            set_condition(st, "ContainersReady", "False", "ContainersNotReady", msg)
            set_condition(st, "PodScheduled", "True")
            init = list((o.get("spec") or {}).get("initContainers") or [])
            if init:
                st["initContainerStatuses"] = [self._terminated_status(c, 0, "Completed") for c in init]
            st["containerStatuses"] = [
                {
                    "name": c.get("name"),
                    "image": c.get("image"),
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "started": False,
                    "state": {"waiting": {"reason": "ContainerCreating"}},
                    "lastState": {},
                }
                for c in self._containers(o)
            ]
            _order_conditions(st)

        self.store.mutate(PODS, key[0], key[1], put, subresource="status", manager=self.name)
        for c in self._containers(pod):
            self.record(pod, "Pulling", f'Pulling image "{c.get("image")}"', host=self._host(pod))
        run = PodRun(uid=str(meta(pod).get("uid")), stage="pulling")
        run.due = self._after(key, self.settings.timings.pull_seconds)
        self.runs[key] = run

    def _pulled(self, pod: Obj, key: Key, run: PodRun) -> None:
        t = self.settings.timings.pull_seconds
        for c in self._containers(pod):
            self.record(
                pod,
                "Pulled",
                f'Successfully pulled image "{c.get("image")}" in {t:.3f}s '
                f"({t:.3f}s including waiting). Image size: 4294967296 bytes.",
                host=self._host(pod),
            )
            self.record(pod, "Created", f"Created container: {c.get('name')}", host=self._host(pod))
        run.stage = "starting"
        run.due = self._after(key, self.settings.timings.start_seconds)

    def _next_ip(self) -> str:
        while True:
            self._ip_counter += 1
            n = self._ip_counter
            if 0 < n % 256 < 255:
                return f"10.{1 + (n >> 16) % 250}.{(n >> 8) % 256}.{n % 256}"

    def _started(self, pod: Obj, key: Key, run: PodRun) -> None:
        ip = (pod.get("status") or {}).get("podIP") or self._next_ip()
        started = now_ts()

        def put(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["phase"] = "Running"
            st["podIP"] = ip
            st["podIPs"] = [{"ip": ip}]
            set_condition(st, "PodReadyToStartContainers", "True")
            for cs in st.get("containerStatuses") or []:
                cs["state"] = {"running": {"startedAt": started}}
                cs["started"] = True
                cs["ready"] = False
                cs["imageID"] = _image_id(str(cs.get("image")))
                cs["containerID"] = "containerd://" + _container_id(
                    str(meta(o).get("uid")), str(cs.get("name")), int(cs.get("restartCount") or 0)
                )

        self.store.mutate(PODS, key[0], key[1], put, subresource="status", manager=self.name)
        for c in self._containers(pod):
            self.record(pod, "Started", f"Started container {c.get('name')}", host=self._host(pod))
        self._enter_running(pod, key, run)

    def _enter_running(self, pod: Obj, key: Key, run: PodRun) -> None:
        run.stage = "running"
        ns, name = key
        faults = self.settings.faults
        startup = self.workloads.start(pod, key, run)
        if run_to_completion(pod):
            run.ready_at = self._after(key, self.settings.timings.ready_seconds)
            return
        never = _flag(pod, "never-ready") or faults.matches(faults.never_ready_pods, ns, name)
        if not never:
            run.ready_at = self._after(key, max(self._ready_delay(pod), startup))
        if _flag(pod, "crash") or faults.matches(faults.crash_pods, ns, name):
            run.crash_at = self._after(key, self.settings.timings.crash_after_seconds)
        run.due = min(t for t in (run.ready_at, run.crash_at, float("inf")) if t is not None)
        if run.due == float("inf"):
            run.due = 0.0

    def _ready_delay(self, pod: Obj) -> float:
        delays = []
        for c in self._containers(pod):
            probe = c.get("readinessProbe")
            delays.append(
                float(probe.get("initialDelaySeconds") or 0) if probe else self.settings.timings.ready_seconds
            )
        return max(delays, default=0.0)

    def _running(self, pod: Obj, key: Key, run: PodRun) -> None:
        now = self._now() + 1e-3
        if run.crash_at is not None and now >= run.crash_at:
            self._crash(pod, key, run)
            return
        if run.ready_at is not None and now >= run.ready_at and run.starting_writers == 0:
            run.ready_at = None
            self.set_ready(key, True)
        pending = [t for t in (run.ready_at, run.crash_at) if t is not None and t > now]
        if pending:
            run.due = min(pending)
            self.queue.add_after(key, max(0.0, run.due - self._now()))
        # else: a start-up log writer still runs and re-queues the pod when it is done

    def startup_written(self, key: Key, run: PodRun) -> None:
        run.starting_writers = max(0, run.starting_writers - 1)
        if self.runs.get(key) is run:
            self.queue.add(key)

    def set_ready(self, key: Key, ready: bool, reason: str = "ContainersNotReady") -> None:
        def put(o: Obj) -> None:
            st = o.setdefault("status", {})
            if st.get("phase") != "Running":
                return
            names = []
            for cs in st.get("containerStatuses") or []:
                cs["ready"] = ready
                names.append(str(cs.get("name")))
            if ready:
                set_condition(st, "ContainersReady", "True")
                set_condition(st, "Ready", "True")
            else:
                msg = f"containers with unready status: [{' '.join(names)}]"
                set_condition(st, "ContainersReady", "False", reason, msg)
                set_condition(st, "Ready", "False", reason, msg)

        self.store.mutate(PODS, key[0], key[1], put, subresource="status", manager=self.name)

    def _crash(self, pod: Obj, key: Key, run: PodRun) -> None:
        run.cancel()
        run.restarts += 1
        backoff = min(300.0, self.settings.timings.backoff_seconds * (2 ** (run.restarts - 1)))
        finished = now_ts()
        pod_id = f"{key[1]}_{key[0]}({meta(pod).get('uid')})"
        names = [str(c.get("name")) for c in self._containers(pod)]
        for n in names:
            self.sim.logs.append(
                key[0], key[1], n, "Error: simulated crash (kubesim.podium.dev/crash); exiting 1"
            )

        def put(o: Obj) -> None:
            st = o.setdefault("status", {})
            for cs in st.get("containerStatuses") or []:
                started = ((cs.get("state") or {}).get("running") or {}).get("startedAt", finished)
                cs["lastState"] = {
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "startedAt": started,
                        "finishedAt": finished,
                        "containerID": cs.get("containerID", ""),
                    }
                }
                cs["state"] = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off {int(backoff)}s restarting failed "
                        f"container={cs.get('name')} pod={pod_id}",
                    }
                }
                cs["restartCount"] = int(cs.get("restartCount") or 0) + 1
                cs["ready"] = False
                cs["started"] = False
            msg = f"containers with unready status: [{' '.join(names)}]"
            set_condition(st, "ContainersReady", "False", "ContainersNotReady", msg)
            set_condition(st, "Ready", "False", "ContainersNotReady", msg)

        self.store.mutate(PODS, key[0], key[1], put, subresource="status", manager=self.name)
        for n in names:
            self.record(
                pod,
                "BackOff",
                f"Back-off restarting failed container {n} in pod {pod_id}",
                "Warning",
                host=self._host(pod),
            )
        run.stage = "backoff"
        run.ready_at = run.crash_at = None
        run.due = self._after(key, backoff)

    def _restart(self, pod: Obj, key: Key, run: PodRun) -> None:
        for c in self._containers(pod):
            self.record(
                pod,
                "Pulled",
                f'Container image "{c.get("image")}" already present on machine',
                host=self._host(pod),
            )
            self.record(pod, "Created", f"Created container: {c.get('name')}", host=self._host(pod))
        self._started(pod, key, run)

    def finish(self, key: Key, exit_code: int, message: str | None = None) -> None:
        """Called by the workload runner when a run-to-completion pod's containers exit."""
        pod = self.cache.get("pods", key)
        run = self.runs.get(key)
        if pod is None or meta(pod).get("deletionTimestamp") or is_terminal(pod):
            return
        if run is not None:
            run.stage = "done"
        reason = "Completed" if exit_code == 0 else "Error"

        def put(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["phase"] = "Succeeded" if exit_code == 0 else "Failed"
            for cs in st.get("containerStatuses") or []:
                started = ((cs.get("state") or {}).get("running") or {}).get("startedAt", now_ts())
                cs["state"] = {
                    "terminated": {
                        "exitCode": exit_code,
                        "reason": reason,
                        "startedAt": started,
                        "finishedAt": now_ts(),
                        "containerID": cs.get("containerID", ""),
                    }
                }
                if message:
                    # What the container wrote to its terminationMessagePath (the error, for a failure).
                    cs["state"]["terminated"]["message"] = message
                cs["ready"] = False
                cs["started"] = False
            set_condition(st, "PodReadyToStartContainers", "False")
            set_condition(st, "ContainersReady", "False", "PodCompleted")
            set_condition(st, "Ready", "False", "PodCompleted")

        self.store.mutate(PODS, key[0], key[1], put, subresource="status", manager=self.name)

    @staticmethod
    def _terminated_status(c: Obj, code: int, reason: str) -> Obj:
        now = now_ts()
        return {
            "name": c.get("name"),
            "image": c.get("image"),
            "imageID": _image_id(str(c.get("image"))),
            "ready": True,
            "restartCount": 0,
            "started": False,
            "state": {
                "terminated": {"exitCode": code, "reason": reason, "startedAt": now, "finishedAt": now}
            },
            "lastState": {},
        }

    # --- termination --------------------------------------------------------------------------

    def _terminate(self, pod: Obj, key: Key, run: PodRun | None) -> None:
        if run is None:
            run = self.runs[key] = PodRun(uid=str(meta(pod).get("uid")), stage="new")
        if run.stage != "killing":
            run.cancel()
            if not is_terminal(pod) and run.stage not in ("new", "pulling"):
                for c in self._containers(pod):
                    self.record(pod, "Killing", f"Stopping container {c.get('name')}", host=self._host(pod))
            grace = float(meta(pod).get("deletionGracePeriodSeconds") or 0)
            wait = 0.0 if is_terminal(pod) else min(grace, self.settings.timings.termination_seconds)
            run.stage = "killing"
            run.due = self._after(key, wait)
            if wait > 0:
                return
        if self._now() + 1e-3 < run.due:
            self.queue.add_after(key, run.due - self._now())
            return
        self.runs.pop(key, None)
        self.store.remove(PODS, key[0], key[1])


def _order_conditions(st: Obj) -> None:
    order = {
        "PodReadyToStartContainers": 0,
        "Initialized": 1,
        "Ready": 2,
        "ContainersReady": 3,
        "PodScheduled": 4,
    }
    st["conditions"] = sorted(st.get("conditions") or [], key=lambda c: order.get(str(c.get("type")), 9))


def _image_id(image: str) -> str:
    repo = image.split(":", maxsplit=1)[0].split("@", maxsplit=1)[0]
    return f"{repo}@sha256:{short_hash(image, 64)}"


def _container_id(uid: str, name: str, restarts: int) -> str:
    return short_hash(f"{uid}/{name}/{restarts}", 64)
