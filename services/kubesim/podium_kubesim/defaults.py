"""Server-side defaulting and create-time preparation, as the real API server's strategies do it.

Only the defaults clients and kubectl visibly rely on are applied (kubectl describe prints many of them).
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from typing import Any

from podium_kubesim.objutil import meta

_cluster_ips = itertools.count(10)
_node_ports = itertools.count(30000)


def _container(c: dict[str, Any]) -> None:
    image = str(c.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    latest = ":" not in tag or tag.endswith(":latest")
    c.setdefault("imagePullPolicy", "Always" if latest and "@" not in image else "IfNotPresent")
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    res = c["resources"]
    # Limits without requests default the requests, as the real defaulter does.
    if isinstance(res, dict) and res.get("limits"):
        requests = res.setdefault("requests", {})
        for key, value in res["limits"].items():
            requests.setdefault(key, value)


def pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in itertools.chain(spec.get("containers") or [], spec.get("initContainers") or []):
        if isinstance(c, dict):
            _container(c)


def _pod_template(spec: dict[str, Any]) -> None:
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {})
    pod_spec(template.setdefault("spec", {}))


def _pod(obj: dict[str, Any], creating: bool) -> None:
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    if creating:
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
        tolerations = spec.setdefault("tolerations", [])
        # The DefaultTolerationSeconds admission plugin adds these to every pod.
        for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
            if not any(isinstance(t, dict) and t.get("key") == key for t in tolerations):
                tolerations.append(
                    {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
                )
        obj["status"] = {"phase": "Pending", "qosClass": _qos_class(spec)}


def _qos_class(spec: dict[str, Any]) -> str:
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    reqs = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in reqs):
        return "BestEffort"
    guaranteed = all(
        r.get("limits", {}).get(k) is not None and r.get("limits", {}).get(k) == r.get("requests", {}).get(k)
        for r in reqs
        for k in ("cpu", "memory")
    )
    return "Guaranteed" if guaranteed else "Burstable"


def _deployment(obj: dict[str, Any], creating: bool) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy.setdefault("type", "RollingUpdate")
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxSurge", "25%")
        ru.setdefault("maxUnavailable", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _pod_template(spec)
    if creating:
        obj["status"] = {}


def _replicaset(obj: dict[str, Any], creating: bool) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _pod_template(spec)
    if creating:
        obj["status"] = {"replicas": 0}


def _job(obj: dict[str, Any], creating: bool) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    spec.setdefault("manualSelector", False)
    _pod_template(spec)
    spec["template"]["spec"].setdefault("restartPolicy", "Never")
    if creating:
        uid = meta(obj)["uid"]
        name = meta(obj)["name"]
        # The job strategy generates a selector on the job's uid and labels the template with it.
        if not spec.get("selector"):
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        labels = spec["template"]["metadata"].setdefault("labels", {})
        labels.setdefault("batch.kubernetes.io/controller-uid", uid)
        labels.setdefault("batch.kubernetes.io/job-name", name)
        labels.setdefault("controller-uid", uid)
        labels.setdefault("job-name", name)
        obj["status"] = {}


def _service(obj: dict[str, Any], creating: bool) -> None:
    spec = obj.setdefault("spec", {})
    stype = spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            if stype in ("NodePort", "LoadBalancer") and "nodePort" not in port:
                port["nodePort"] = next(_node_ports)
    if stype != "ExternalName":
        if creating and not spec.get("clusterIP"):
            n = next(_cluster_ips)
            spec["clusterIP"] = f"10.100.{(n // 250) % 250}.{n % 250 + 1}"
        if spec.get("clusterIP"):
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if stype in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if stype == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    if creating:
        obj["status"] = {"loadBalancer": {}}


def _namespace(obj: dict[str, Any], creating: bool) -> None:
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    labels = meta(obj).setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = meta(obj)["name"]
    if creating:
        obj["status"] = {"phase": "Active"}


def _secret(obj: dict[str, Any], creating: bool) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    if string_data:
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _pvc(obj: dict[str, Any], creating: bool) -> None:
    obj.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
    if creating:
        obj["status"] = {"phase": "Pending"}


def _pv(obj: dict[str, Any], creating: bool) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")
    if creating and not obj.get("status"):
        obj["status"] = {"phase": "Available"}


def _custom(obj: dict[str, Any], creating: bool) -> None:
    if creating:
        obj.pop("status", None)


_DEFAULTERS: dict[str, Callable[[dict[str, Any], bool], None]] = {
    "pods": _pod,
    "deployments.apps": _deployment,
    "replicasets.apps": _replicaset,
    "jobs.batch": _job,
    "services": _service,
    "namespaces": _namespace,
    "secrets": _secret,
    "persistentvolumeclaims": _pvc,
    "persistentvolumes": _pv,
    "pytorchjobs.kubeflow.org": _custom,
    "hyperpodpytorchjobs.sagemaker.amazonaws.com": _custom,
}


def apply_defaults(storage_key: str, obj: dict[str, Any], *, creating: bool) -> None:
    fn = _DEFAULTERS.get(storage_key)
    if fn is not None:
        fn(obj, creating)
