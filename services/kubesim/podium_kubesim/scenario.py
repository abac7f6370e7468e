"""Scenarios: the cluster kubesim starts with (node groups, namespaces, objects) and its timing and faults.

A scenario is a YAML file; `load(sim, "small")` reads `scenarios/small.yaml`, `load(sim, "/path/x.yaml")`
reads that file. See docs/kubesim.md ("Controllers, scenarios, limits") for the format.
"""

from __future__ import annotations

import fnmatch
import random
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from podium_kubesim.errors import ApiError
from podium_kubesim.resources import by_kind, resource

if TYPE_CHECKING:
    from podium_kubesim.sim import KubeSim

SCENARIO_DIR = Path(__file__).parent / "scenarios"
DEFAULT_SCENARIO = "default"
REGION = "us-west-2"
KUBELET_VERSION = "v1.31.2-eks-7f9249a"


@dataclass
class Timings:
    """Simulated seconds (divided by the speed factor) between state transitions."""

    schedule_seconds: float = 0.2  # pod created -> bound
    pull_seconds: float = 2.0  # bound -> image pulled (ContainerCreating)
    start_seconds: float = 1.0  # pulled -> container running
    ready_seconds: float = 1.0  # running -> Ready when the container has no readinessProbe
    termination_seconds: float = 2.0  # deletionTimestamp -> pod removed (capped by the grace period)
    crash_after_seconds: float = 3.0  # running -> crash, for pods asked to crash
    backoff_seconds: float = 10.0  # first CrashLoopBackOff wait; doubles up to 300 s like the kubelet
    job_run_seconds: float = 5.0  # run time of a generic run-to-completion container
    train_steps: int = 20  # training steps a training pod logs before it completes
    step_seconds: float = 0.5  # time per training step
    token_seconds: float = 0.02  # engine latency per generated token
    load_balancer_seconds: float = 5.0  # Service type=LoadBalancer -> ingress hostname
    log_line_seconds: float = 0.2  # pace of engine start-up log lines


@dataclass
class Faults:
    """Pod-name glob patterns (namespace/name or name) that misbehave, besides the per-pod annotations."""

    crash_pods: list[str] = field(default_factory=list)  # crash-loop (CrashLoopBackOff)
    fail_pods: list[str] = field(default_factory=list)  # run-to-completion containers exit 1
    never_ready_pods: list[str] = field(default_factory=list)  # run but never pass readiness

    def matches(self, patterns: list[str], namespace: str, name: str) -> bool:
        return any(
            fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(f"{namespace}/{name}", p) for p in patterns
        )


@dataclass
class SimSettings:
    name: str = DEFAULT_SCENARIO
    region: str = REGION
    timings: Timings = field(default_factory=Timings)
    faults: Faults = field(default_factory=Faults)
    node_groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> scenario entry
    # Node naming state, kept so that groups resized later get fresh, unique names and IPs.
    rng: random.Random = field(default_factory=lambda: random.Random(DEFAULT_SCENARIO))  # noqa: S311
    ip_counter: Iterator[int] = field(default_factory=lambda: iter(range(10, 1 << 16)))
    node_order: dict[str, int] = field(default_factory=dict)  # creation order (timestamps have 1 s steps)


_SETTINGS: weakref.WeakKeyDictionary[Any, SimSettings] = weakref.WeakKeyDictionary()


def settings_for(sim: KubeSim) -> SimSettings:
    """The loaded scenario's settings (defaults if no scenario was loaded)."""
    found = _SETTINGS.get(sim)
    if found is None:
        found = SimSettings()
        _SETTINGS[sim] = found
    return found


# --- instance types ------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceType:
    cpu: int
    memory_gi: int
    max_pods: int
    gpus: int = 0
    gpu_product: str = ""


_G5 = "NVIDIA-A10G"
CATALOG: dict[str, InstanceType] = {
    "m5.large": InstanceType(2, 8, 29),
    "m5.xlarge": InstanceType(4, 16, 58),
    "m5.2xlarge": InstanceType(8, 32, 58),
    "m5.4xlarge": InstanceType(16, 64, 234),
    "m5.8xlarge": InstanceType(32, 128, 234),
    "c5.xlarge": InstanceType(4, 8, 58),
    "c5.2xlarge": InstanceType(8, 16, 58),
    "c5.4xlarge": InstanceType(16, 32, 234),
    "t3.medium": InstanceType(2, 4, 17),
    "t3.large": InstanceType(2, 8, 35),
    "t3.xlarge": InstanceType(4, 16, 58),
    "g5.xlarge": InstanceType(4, 16, 58, 1, _G5),
    "g5.2xlarge": InstanceType(8, 32, 58, 1, _G5),
    "g5.4xlarge": InstanceType(16, 64, 234, 1, _G5),
    "g5.8xlarge": InstanceType(32, 128, 234, 1, _G5),
    "g5.12xlarge": InstanceType(48, 192, 234, 4, _G5),
    "g5.16xlarge": InstanceType(64, 256, 234, 1, _G5),
    "g5.24xlarge": InstanceType(96, 384, 737, 4, _G5),
    "g5.48xlarge": InstanceType(192, 768, 345, 8, _G5),
    "g4dn.xlarge": InstanceType(4, 16, 29, 1, "Tesla-T4"),
    "g4dn.12xlarge": InstanceType(48, 192, 234, 4, "Tesla-T4"),
    "g6.xlarge": InstanceType(4, 16, 58, 1, "NVIDIA-L4"),
    "g6.12xlarge": InstanceType(48, 192, 234, 4, "NVIDIA-L4"),
    "g6.48xlarge": InstanceType(192, 768, 737, 8, "NVIDIA-L4"),
    "g6e.xlarge": InstanceType(4, 32, 58, 1, "NVIDIA-L40S"),
    "g6e.12xlarge": InstanceType(48, 384, 234, 4, "NVIDIA-L40S"),
    "g6e.48xlarge": InstanceType(192, 1536, 737, 8, "NVIDIA-L40S"),
    "p4d.24xlarge": InstanceType(96, 1152, 737, 8, "NVIDIA-A100-SXM4-40GB"),
    "p4de.24xlarge": InstanceType(96, 1152, 737, 8, "NVIDIA-A100-SXM4-80GB"),
    "p5.48xlarge": InstanceType(192, 2048, 100, 8, "NVIDIA-H100-80GB-HBM3"),
    "p5e.48xlarge": InstanceType(192, 2048, 100, 8, "NVIDIA-H200"),
}


def instance_type(name: str) -> InstanceType | None:
    # SageMaker HyperPod names its types "ml.<ec2 type>"; the hardware is the same.
    return CATALOG.get(name.removeprefix("ml."))


# --- loading -------------------------------------------------------------------------------------


class ScenarioError(ValueError):
    pass


def scenario_path(name_or_path: str | Path | None) -> Path:
    if name_or_path is None:
        return SCENARIO_DIR / f"{DEFAULT_SCENARIO}.yaml"
    text = str(name_or_path)
    candidate = Path(text)
    if candidate.suffix in (".yaml", ".yml") or "/" in text:
        if not candidate.is_file():
            raise ScenarioError(f"scenario file {text} does not exist")
        return candidate
    builtin = SCENARIO_DIR / f"{text}.yaml"
    if not builtin.is_file():
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
        raise ScenarioError(f"unknown scenario {text!r} (built-in: {known})")
    return builtin


def read_scenario(name_or_path: str | Path | None) -> dict[str, Any]:
    data = yaml.safe_load(scenario_path(name_or_path).read_text())
    if not isinstance(data, dict):
        raise ScenarioError("a scenario must be a YAML mapping")
    return data


def _camel_to_snake(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


def parse_settings(data: dict[str, Any]) -> SimSettings:
    timings = Timings()
    names = {f.name for f in fields(Timings)}
    for k, v in (data.get("timings") or {}).items():
        attr = _camel_to_snake(k)
        if attr not in names:
            raise ScenarioError(f"unknown timing {k!r}")
        setattr(timings, attr, type(getattr(timings, attr))(v))
    f = data.get("faults") or {}
    faults = Faults(
        crash_pods=[str(p) for p in f.get("crashPods") or []],
        fail_pods=[str(p) for p in f.get("failPods") or []],
        never_ready_pods=[str(p) for p in f.get("neverReadyPods") or []],
    )
    return SimSettings(
        name=str(data.get("name") or DEFAULT_SCENARIO),
        region=str(data.get("region") or REGION),
        timings=timings,
        faults=faults,
    )


def load(sim: KubeSim, name_or_path: str | Path | None = None) -> SimSettings:
    """Read a scenario and create its namespaces, nodes and objects in the sim's store."""
    data = read_scenario(name_or_path)
    settings = parse_settings(data)
    _SETTINGS[sim] = settings
    # Seeded by the scenario name: the same scenario always yields the same node names and IPs.
    settings.rng = rng = random.Random(settings.name)  # noqa: S311 - simulated ids, not security
    namespaces = ["default", "kube-system", "kube-public", "kube-node-lease"]
    namespaces += [str(n) for n in data.get("namespaces") or [] if str(n) not in namespaces]
    for ns in namespaces:
        _ensure(sim, "namespaces", None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    _ensure(sim, "services", "default", _kubernetes_service())
    for group in data.get("nodeGroups") or []:
        settings.node_groups[str(group.get("name") or "")] = dict(group)
        for node in build_node_group(group, settings.region, rng, settings.ip_counter):
            add_node(sim, node)
    for obj in data.get("objects") or []:
        _create_manifest(sim, obj)
    return settings


_GROUP_LABELS = ("eks.amazonaws.com/nodegroup", "sagemaker.amazonaws.com/instance-group-name")


def group_nodes(sim: KubeSim, group: str) -> list[dict[str, Any]]:
    """The nodes of an EKS node group or HyperPod instance group, oldest first."""
    nodes = [
        n
        for n in sim.store.list_raw(resource("nodes"))
        if any(n["metadata"].get("labels", {}).get(k) == group for k in _GROUP_LABELS)
    ]
    order = settings_for(sim).node_order
    return sorted(
        nodes,
        key=lambda n: (
            order.get(n["metadata"]["name"], len(order)),
            n["metadata"].get("creationTimestamp", ""),
            n["metadata"]["name"],
        ),
    )


def resize_node_group(sim: KubeSim, group: str, count: int, spec: dict[str, Any] | None = None) -> list[str]:
    """Grow or shrink a node group to `count` nodes, as an EKS/HyperPod scaling would; returns the names
    of the nodes added or removed. `spec` (a scenario `nodeGroups` entry) defines a group the scenario
    does not have. Removed nodes go newest first; their pods are deleted by the pod garbage collector."""
    if count < 0:
        raise ScenarioError("a node group cannot have a negative size")
    settings = settings_for(sim)
    entry = settings.node_groups.get(group) or (dict(spec, name=group) if spec else None)
    if entry is None:
        raise ScenarioError(f"unknown node group {group!r}")
    settings.node_groups[group] = entry
    current = group_nodes(sim, group)
    if count > len(current):
        added = build_node_group(
            dict(entry, count=count - len(current), notReady=0),
            settings.region,
            settings.rng,
            settings.ip_counter,
        )
        for node in added:
            add_node(sim, node)
        return [n["metadata"]["name"] for n in added]
    removed = [n["metadata"]["name"] for n in current[count:]][::-1]
    for name in removed:
        sim.store.delete(resource("nodes"), None, name, manager="kubesim-node-group")
    return removed


def add_node(sim: KubeSim, node: dict[str, Any]) -> None:
    """Create a node built by `build_node_group` (if absent), remembering its creation order."""
    order = settings_for(sim).node_order
    order.setdefault(node["metadata"]["name"], len(order))
    _ensure(sim, "nodes", None, node)


def _ensure(sim: KubeSim, key: str, namespace: str | None, obj: dict[str, Any]) -> None:
    res = resource(key)
    if sim.store.try_get(res, namespace, obj["metadata"]["name"]) is not None:
        return
    status = obj.get("status")
    created = sim.store.create(res, namespace, obj)
    # The create path may reset status as the real apiserver does; nodes must keep theirs.
    if status and created.get("status") != status and res.has_status:

        def put(o: dict[str, Any]) -> None:
            o["status"] = status

        sim.store.mutate(res, namespace, obj["metadata"]["name"], put, subresource="status")


def _create_manifest(sim: KubeSim, obj: dict[str, Any]) -> None:
    res = by_kind(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
    if res is None:
        raise ScenarioError(f"scenario object of unknown kind {obj.get('apiVersion')}/{obj.get('kind')}")
    md = obj.setdefault("metadata", {})
    namespace = (md.get("namespace") or "default") if res.namespaced else None
    if res.namespaced:
        md["namespace"] = namespace
    try:
        _ensure(sim, res.key, namespace, obj)
    except ApiError as exc:
        raise ScenarioError(f"scenario object {res.kind} {md.get('name')}: {exc.message}") from exc


def _kubernetes_service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "10.100.0.1",
            "clusterIPs": ["10.100.0.1"],
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}],
            "sessionAffinity": "None",
        },
    }


def build_node_group(
    group: dict[str, Any],
    region: str,
    rng: random.Random,
    ip_counter: Iterator[int],
    instance_ids: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Nodes for one `nodeGroups` entry; `kind: eks` (default) or `kind: hyperpod`. `instance_ids` (one
    per node) names instances that exist elsewhere (the emulated cloud) instead of inventing them."""
    name = str(group.get("name") or "")
    if not name:
        raise ScenarioError("every node group needs a name")
    itype_name = str(group.get("instanceType") or "m5.2xlarge")
    known = instance_type(itype_name)
    cpu = int(group.get("cpu") or (known.cpu if known else 0))
    memory_gi = int(group.get("memoryGi") or (known.memory_gi if known else 0))
    max_pods = int(group.get("pods") or (known.max_pods if known else 110))
    gpus = int(group["gpus"]) if "gpus" in group else (known.gpus if known else 0)
    gpu_product = str(group.get("gpuProduct") or (known.gpu_product if known else ""))
    if cpu <= 0 or memory_gi <= 0:
        raise ScenarioError(f"node group {name}: unknown instance type {itype_name}; give cpu and memoryGi")
    hyperpod = str(group.get("kind") or "eks") == "hyperpod"
    zones = [str(z) for z in group.get("zones") or [f"{region}a", f"{region}b"]]
    count = len(instance_ids) if instance_ids is not None else int(group.get("count") or 0)
    not_ready = int(group.get("notReady") or 0)
    nodes = []
    for i in range(count):
        zone = zones[i % len(zones)]
        n = next(ip_counter)
        ip = f"10.0.{n // 250}.{n % 250 + 4}"
        instance_id = (
            instance_ids[i]
            if instance_ids is not None
            else "i-0" + "".join(rng.choice("0123456789abcdef") for _ in range(16))
        )
        # HyperPod names a node after its instance (`hyperpod-i-…`); node names are lower-case DNS names.
        node_name = (
            f"hyperpod-{instance_id}".lower()
            if hyperpod
            else f"ip-{ip.replace('.', '-')}.{region}.compute.internal"
        )
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/instance-type": itype_name,
            "beta.kubernetes.io/os": "linux",
            "failure-domain.beta.kubernetes.io/region": region,
            "failure-domain.beta.kubernetes.io/zone": zone,
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": node_name,
            "kubernetes.io/os": "linux",
            "node.kubernetes.io/instance-type": itype_name,
            "topology.kubernetes.io/region": region,
            "topology.kubernetes.io/zone": zone,
        }
        if hyperpod:
            labels.update(
                {
                    "sagemaker.amazonaws.com/compute-type": "hyperpod",
                    "sagemaker.amazonaws.com/instance-group-name": name,
                    "sagemaker.amazonaws.com/node-health-status": "Schedulable",
                    "sagemaker.amazonaws.com/cluster-name": str(
                        group.get("clusterName") or "podium-hyperpod"
                    ),
                }
            )
        else:
            labels.update(
                {
                    "eks.amazonaws.com/nodegroup": name,
                    "eks.amazonaws.com/capacityType": str(group.get("capacityType") or "ON_DEMAND"),
                    "eks.amazonaws.com/nodegroup-image": "ami-0c2f1e8b5e2f4a7d1",
                }
            )
        if gpus:
            labels.update(
                {
                    "nvidia.com/gpu.present": "true",
                    "nvidia.com/gpu.count": str(gpus),
                    "nvidia.com/gpu.product": gpu_product,
                }
            )
        labels.update({str(k): str(v) for k, v in (group.get("labels") or {}).items()})
        ready = i >= not_ready
        nodes.append(
            _node(
                node_name,
                labels,
                zone=zone,
                ip=ip,
                instance_id=instance_id,
                cpu=cpu,
                memory_gi=memory_gi,
                max_pods=max_pods,
                gpus=gpus,
                ready=ready,
                taints=list(group.get("taints") or []),
                unschedulable=bool(group.get("unschedulable")),
                region=region,
            )
        )
    return nodes


def _node(
    name: str,
    labels: dict[str, str],
    *,
    zone: str,
    ip: str,
    instance_id: str,
    cpu: int,
    memory_gi: int,
    max_pods: int,
    gpus: int,
    ready: bool,
    taints: list[dict[str, Any]],
    unschedulable: bool,
    region: str,
) -> dict[str, Any]:
    mem_ki = memory_gi * 1024 * 1024 * 97 // 100  # the OS keeps a few percent; real capacity is never round
    # EKS reserves cpu by a sliding scale and memory as 255Mi + 11Mi per pod, plus a 100Mi eviction threshold.
    cpu_reserved_m = 70 + 10 * max(0, cpu - 2) // 2
    mem_alloc_ki = mem_ki - (255 + 11 * max_pods + 100) * 1024
    capacity = {
        "cpu": str(cpu),
        "ephemeral-storage": "104845292Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{mem_ki}Ki",
        "pods": str(max_pods),
    }
    allocatable = dict(
        capacity,
        cpu=f"{cpu * 1000 - cpu_reserved_m}m",
        memory=f"{mem_alloc_ki}Ki",
        **{"ephemeral-storage": "95551679124"},
    )
    if gpus:
        capacity["nvidia.com/gpu"] = str(gpus)
        allocatable["nvidia.com/gpu"] = str(gpus)
    all_taints = [dict(t) for t in taints]
    if not ready:
        all_taints.append({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"})
    if unschedulable:
        all_taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    spec: dict[str, Any] = {"providerID": f"aws:///{zone}/{instance_id}"}
    if all_taints:
        spec["taints"] = all_taints
    if unschedulable:
        spec["unschedulable"] = True
    now = "2026-01-01T00:00:00Z"

    def cond(ctype: str, status: str, reason: str, message: str) -> dict[str, str]:
        return {
            "type": ctype,
            "status": status,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }

    conditions = [
        cond(
            "MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"
        ),
        cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")
        if ready
        else cond("Ready", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."),
    ]
    dns = f"ip-{ip.replace('.', '-')}.{region}.compute.internal"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": ip,
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": spec,
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": conditions,
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "InternalDNS", "address": dns},
                {"type": "Hostname", "address": dns},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"boot:{name}")),
                "containerRuntimeVersion": "containerd://1.7.22",
                "kernelVersion": "5.10.227-219.884.amzn2.x86_64",
                "kubeProxyVersion": KUBELET_VERSION,
                "kubeletVersion": KUBELET_VERSION,
                "machineID": instance_id.replace("-", "").ljust(32, "0")[:32],
                "operatingSystem": "linux",
                "osImage": "Amazon Linux 2",
                "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
            },
        },
    }
