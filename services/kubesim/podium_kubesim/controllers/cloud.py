"""The cloud controller: kubesim's nodes follow the (emulated) cloud's EKS node groups and HyperPod
instance groups, as the node lifecycle of a real EKS cluster follows its Auto Scaling groups.

Every `poll_seconds` (real time) it reads the groups through `CloudSource` in a worker thread; between
reads it steps, on the sim's loop, towards them:
- a group that wants more nodes gets them after `join_seconds` of simulated time (an instance boots and
  its kubelet registers); HyperPod nodes are the listed instances (`hyperpod-<instance id>`), EKS nodes
  are interchangeable;
- a node the cloud no longer has is cordoned (unschedulable + the unschedulable taint), its pods evicted
  (graceful deletes, so their controllers create replacements elsewhere), and the node removed once its
  pods are gone or after `DRAIN_SECONDS`;
- a group that disappears loses all its nodes the same way.
The groups found by the first successful read are taken as already running: their nodes appear at once.
Only the kinds whose cluster is configured are managed; other nodes are left alone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podium_kubesim.controllers.base import wait_unpaused
from podium_kubesim.controllers.cloud_source import EKS, HYPERPOD, CloudConfig, CloudSource, GroupSpec
from podium_kubesim.controllers.podutil import key_of, meta
from podium_kubesim.resources import resource
from podium_kubesim.scenario import add_node, build_node_group, instance_type, settings_for

if TYPE_CHECKING:
    from podium_kubesim.sim import KubeSim

log = logging.getLogger("podium_kubesim.controllers.cloud")

NODES = resource("nodes")
PODS = resource("pods")
MANAGER = "kubesim-cloud-controller"
GROUP_LABELS = {EKS: "eks.amazonaws.com/nodegroup", HYPERPOD: "sagemaker.amazonaws.com/instance-group-name"}
REMOVING = "kubesim.podium.dev/removing"  # annotation on a node being drained for removal
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
DRAIN_SECONDS = 120.0  # simulated seconds a drain may take before the node is removed regardless
TICK = 0.05  # real seconds between steps while nodes are joining or draining
INITIAL_TIMEOUT = 20.0  # real seconds the first read may hold up kubesim's start

GroupKey = tuple[str, str]  # (kind, group name)


@dataclass
class Joining:
    due: float  # loop time at which the node registers
    instance_id: str | None  # HyperPod: the instance; EKS: None (any instance)


class CloudController:
    name = "cloud-controller"

    def __init__(self, sim: KubeSim, config: CloudConfig) -> None:
        self.sim = sim
        self.config = config
        self.region = config.region or settings_for(sim).region
        self.source = CloudSource(config, self.region)
        self.kinds = {k for k, c in ((EKS, config.eks_cluster), (HYPERPOD, config.hyperpod_cluster)) if c}
        self.desired: dict[GroupKey, GroupSpec] | None = None  # None until the first successful read
        self.joining: dict[GroupKey, list[Joining]] = {}
        self.draining: dict[str, float] = {}  # node name -> loop time after which it goes regardless
        self.last_error: str | None = None
        self.reads = 0
        self._unknown_types: set[str] = set()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kubesim-cloud")

    # --- reading the cloud -----------------------------------------------------------------------

    async def poll(self) -> bool:
        """Read the groups; False (and the previous picture kept) when the cloud did not answer."""
        loop = asyncio.get_running_loop()
        try:
            groups = await loop.run_in_executor(self._executor, self.source.fetch)
        except Exception as exc:  # the endpoint down or failing: keep what we had and try again later
            message = f"{type(exc).__name__}: {exc}"
            if message != self.last_error:
                log.warning("cloud controller: reading the groups failed: %s", message)
            self.last_error = message
            return False
        self.last_error = None
        self.reads += 1
        first = self.desired is None
        self.desired = {(g.kind, g.name): g for g in groups}
        self.reconcile(loop.time(), initial=first)
        return True

    async def initial_sync(self) -> None:
        """Before the other controllers start: take the cloud's groups as already running."""
        try:
            await asyncio.wait_for(self.poll(), INITIAL_TIMEOUT)
        except TimeoutError:
            log.warning("cloud controller: no answer from the cloud within %.0fs; retrying", INITIAL_TIMEOUT)
        self.step(asyncio.get_running_loop().time())

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_poll = loop.time() + self.config.poll_seconds
        try:
            while True:
                await wait_unpaused(self.sim)
                try:
                    if loop.time() >= next_poll:
                        next_poll = loop.time() + self.config.poll_seconds
                        await self.poll()
                    if self.joining or self.draining:
                        self.step(loop.time())
                except Exception:  # a bug here must not stop the controller; the next read retries
                    log.exception("cloud controller: reconcile failed")
                    self.joining.clear()  # re-planned from the next read rather than retried every tick
                if self.joining or self.draining:
                    await asyncio.sleep(TICK)
                else:
                    await asyncio.sleep(max(0.0, min(next_poll - loop.time(), 1.0)))
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)

    # --- deciding ------------------------------------------------------------------------------------

    def _live(self) -> dict[GroupKey, list[dict[str, Any]]]:
        """Managed nodes by group, not counting those being drained, oldest first."""
        order = settings_for(self.sim).node_order
        groups: dict[GroupKey, list[dict[str, Any]]] = {}
        for node in self.sim.store.iter_raw(NODES):
            key = self._group_of(node)
            if key is not None and meta(node)["name"] not in self.draining:
                groups.setdefault(key, []).append(node)
        for nodes in groups.values():
            nodes.sort(key=lambda n: (order.get(meta(n)["name"], len(order)), meta(n)["name"]))
        return groups

    def _group_of(self, node: dict[str, Any]) -> GroupKey | None:
        labels = meta(node).get("labels") or {}
        for kind in self.kinds:
            group = labels.get(GROUP_LABELS[kind])
            if group:
                return kind, str(group)
        return None

    def reconcile(self, now: float, *, initial: bool = False) -> None:
        """Turn the difference between the cloud and the nodes into joins and drains."""
        if self.desired is None:
            return
        delay = 0.0 if initial else self.sim.clock.delay(self.config.join_seconds)
        live = self._live()
        for key in set(self.desired) | set(live) | set(self.joining):
            spec = self.desired.get(key)
            nodes = live.get(key, [])
            pending = self.joining.setdefault(key, [])
            if key[0] == HYPERPOD:
                self._reconcile_instances(spec, nodes, pending, now + delay)
            else:
                self._reconcile_count(spec, nodes, pending, now + delay)
            if not pending:
                del self.joining[key]
        self.step(now)

    def _reconcile_count(
        self, spec: GroupSpec | None, nodes: list[dict[str, Any]], pending: list[Joining], due: float
    ) -> None:
        want = spec.count if spec is not None else 0
        missing = want - len(nodes) - len(pending)
        pending.extend(Joining(due, None) for _ in range(max(0, missing)))
        excess = -missing
        while excess > 0 and pending:  # instances not yet joined go first (newest first)
            pending.pop()
            excess -= 1
        for node in nodes[::-1][: max(0, excess)]:  # then the newest nodes, as a scale-in does
            self._start_drain(node)

    def _reconcile_instances(
        self, spec: GroupSpec | None, nodes: list[dict[str, Any]], pending: list[Joining], due: float
    ) -> None:
        want = set(spec.instance_ids or ()) if spec is not None else set()
        have = {_instance_id(n): n for n in nodes}
        pending[:] = [j for j in pending if j.instance_id in want]
        waiting = {j.instance_id for j in pending}
        pending.extend(Joining(due, i) for i in sorted(want - set(have) - waiting))
        for instance, node in have.items():
            if instance not in want:
                self._start_drain(node)

    # --- acting --------------------------------------------------------------------------------------

    def step(self, now: float) -> None:
        """Register the nodes whose join time has come; finish drains whose pods are gone."""
        for key in list(self.joining):
            pending = self.joining[key]
            due = [j for j in pending if j.due <= now]
            spec = (self.desired or {}).get(key)
            if due and spec is not None:
                for j in due:
                    self._join(spec, j.instance_id)
            pending[:] = [j for j in pending if j.due > now]
            if not pending or spec is None:
                del self.joining[key]
        for name, deadline in list(self.draining.items()):
            if not self._pods_on(name) or now >= deadline:
                self._remove(name)

    def _join(self, spec: GroupSpec, instance_id: str | None) -> None:
        settings = settings_for(self.sim)
        # What the scenario said about the group (zones, hardware overrides) stays; the cloud's view wins.
        entry = {**settings.node_groups.get(spec.name, {}), **spec.scenario_entry()}
        settings.node_groups[spec.name] = dict(entry, count=spec.count)
        zone = self._emptiest_zone(spec, [str(z) for z in entry.get("zones") or []])
        ids = [instance_id] if instance_id is not None else None
        one = dict(entry, count=1, notReady=0, zones=[zone])
        if instance_type(spec.instance_type) is None and not (entry.get("cpu") and entry.get("memoryGi")):
            # A type kubesim has no figures for still joins, as a modest CPU machine (say so once).
            if spec.instance_type not in self._unknown_types:
                self._unknown_types.add(spec.instance_type)
                log.warning(
                    "cloud controller: no figures for %s; its nodes get 4 CPUs, 16Gi", spec.instance_type
                )
            one.update(cpu=4, memoryGi=16)
        (node,) = build_node_group(one, self.region, settings.rng, settings.ip_counter, ids)
        add_node(self.sim, node)
        name = meta(node)["name"]
        stored = self.sim.store.peek(NODES, None, name)
        if stored is not None:
            self._event(stored, "RegisteredNode", f"Node {name} event: Registered Node {name} in Controller")
        log.info("cloud controller: node %s joined %s %s", name, spec.kind, spec.name)

    def _emptiest_zone(self, spec: GroupSpec, zones: list[str]) -> str:
        zones = zones or [f"{self.region}a", f"{self.region}b"]
        counts = dict.fromkeys(zones, 0)
        for node in self._live().get((spec.kind, spec.name), []):
            zone = (meta(node).get("labels") or {}).get("topology.kubernetes.io/zone")
            if zone in counts:
                counts[zone] += 1
        return min(zones, key=lambda z: counts[z])

    def _start_drain(self, node: dict[str, Any]) -> None:
        """Cordon the node and evict its pods (`kubectl drain`, as a managed node group's scale-in does)."""
        name = meta(node)["name"]
        if name in self.draining:
            return
        self.draining[name] = asyncio.get_running_loop().time() + self.sim.clock.delay(DRAIN_SECONDS)

        def cordon(n: dict[str, Any]) -> None:
            n["metadata"].setdefault("annotations", {})[REMOVING] = "true"
            spec = n.setdefault("spec", {})
            spec["unschedulable"] = True
            taints = spec.setdefault("taints", [])
            if not any(t.get("key") == UNSCHEDULABLE_TAINT["key"] for t in taints):
                taints.append(dict(UNSCHEDULABLE_TAINT))

        self.sim.store.mutate(NODES, None, name, cordon, manager=MANAGER)
        stored = self.sim.store.peek(NODES, None, name)
        if stored is not None:
            self._event(stored, "NodeNotSchedulable", f"Node {name} status is now: NodeNotSchedulable")
        for pod in self._pods_on(name):
            if meta(pod).get("deletionTimestamp"):
                continue
            ns, pod_name = key_of(pod)
            self._event(pod, "Evicted", f"Evicting pod: node {name} is being removed from its group")
            # An eviction is a graceful delete (kubesim has no PodDisruptionBudgets).
            self.sim.store.delete(PODS, ns, pod_name, manager=MANAGER)
        log.info("cloud controller: draining node %s", name)

    def _remove(self, name: str) -> None:
        self.draining.pop(name, None)
        node = self.sim.store.peek(NODES, None, name)
        if node is None:
            return
        self._event(node, "RemovingNode", f"Node {name} event: Removing Node {name} from Controller")
        self.sim.store.delete(NODES, None, name, manager=MANAGER)
        settings_for(self.sim).node_order.pop(name, None)
        log.info("cloud controller: node %s removed", name)

    def _pods_on(self, node: str) -> list[dict[str, Any]]:
        hub = self.sim.hub
        if hub is not None:
            return hub.cache.pods_on(node)
        return [p for p in self.sim.store.iter_raw(PODS) if (p.get("spec") or {}).get("nodeName") == node]

    def _event(self, involved: dict[str, Any], reason: str, message: str) -> None:
        try:
            self.sim.events.record(involved, reason, message, component="node-controller")
        except Exception:  # an event is best effort, as in the real event broadcaster
            log.debug("event %s dropped", reason, exc_info=True)

    def state(self) -> dict[str, Any]:
        """For /_sim/state: whether the cloud answered, and what is in flight."""
        return {
            "reads": self.reads,
            "lastError": self.last_error,
            "groups": sorted(f"{k}/{n}" for k, n in self.desired or {}),
            "joining": {f"{k}/{n}": len(v) for (k, n), v in self.joining.items()},
            "draining": sorted(self.draining),
        }


def _instance_id(node: dict[str, Any]) -> str:
    """The instance behind a node: the last part of `aws:///<zone>/<instance id>`."""
    return str((node.get("spec") or {}).get("providerID") or "").rsplit("/", 1)[-1]
