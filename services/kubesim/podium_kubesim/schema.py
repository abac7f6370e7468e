"""The fields each built-in type has, for dropping unknown fields the way typed decoding does.

A real API server decodes built-in kinds into Go structs, so unknown fields vanish (with a warning), and
`fieldValidation=Strict` refuses them. Without full OpenAPI schemas kubesim knows the types Podium and
kubectl write most (workloads, pods, containers, services); deeper or rarer types are not checked.
"""

from __future__ import annotations

from typing import Any

from podium_kubesim.resources import Resource

_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
_SPEC_STATUS = frozenset({"spec", "status"})
_TOP_FIELDS: dict[str, frozenset[str]] = {
    "configmaps": frozenset({"data", "binaryData", "immutable"}),
    "secrets": frozenset({"data", "stringData", "type", "immutable"}),
    "endpoints": frozenset({"subsets"}),
    "events": frozenset(
        {
            "involvedObject",
            "reason",
            "message",
            "source",
            "firstTimestamp",
            "lastTimestamp",
            "count",
            "type",
            "eventTime",
            "series",
            "action",
            "related",
            "reportingComponent",
            "reportingInstance",
        }
    ),
    "serviceaccounts": frozenset({"secrets", "imagePullSecrets", "automountServiceAccountToken"}),
    "endpointslices.discovery.k8s.io": frozenset({"addressType", "endpoints", "ports"}),
    "clusterroles.rbac.authorization.k8s.io": frozenset({"rules", "aggregationRule"}),
    "roles.rbac.authorization.k8s.io": frozenset({"rules"}),
    "clusterrolebindings.rbac.authorization.k8s.io": frozenset({"roleRef", "subjects"}),
    "rolebindings.rbac.authorization.k8s.io": frozenset({"roleRef", "subjects"}),
}
# Custom resources keep whatever they are given (x-kubernetes-preserve-unknown-fields).
_PRESERVE_UNKNOWN = frozenset({"pytorchjobs.kubeflow.org", "hyperpodpytorchjobs.sagemaker.amazonaws.com"})


def _f(*names: str) -> frozenset[str]:
    return frozenset(names)


# type name -> (field names, {field: type of its value (or of its list items)})
_TYPES: dict[str, tuple[frozenset[str], dict[str, str]]] = {
    "DeploymentSpec": (
        _f(
            "replicas",
            "selector",
            "template",
            "strategy",
            "minReadySeconds",
            "revisionHistoryLimit",
            "paused",
            "progressDeadlineSeconds",
        ),
        {"template": "PodTemplateSpec"},
    ),
    "ReplicaSetSpec": (
        _f("replicas", "minReadySeconds", "selector", "template"),
        {"template": "PodTemplateSpec"},
    ),
    "JobSpec": (
        _f(
            "parallelism",
            "completions",
            "activeDeadlineSeconds",
            "podFailurePolicy",
            "successPolicy",
            "backoffLimit",
            "backoffLimitPerIndex",
            "maxFailedIndexes",
            "selector",
            "manualSelector",
            "template",
            "ttlSecondsAfterFinished",
            "completionMode",
            "suspend",
            "podReplacementPolicy",
            "managedBy",
        ),
        {"template": "PodTemplateSpec"},
    ),
    "PodTemplateSpec": (_f("metadata", "spec"), {"metadata": "ObjectMeta", "spec": "PodSpec"}),
    "ObjectMeta": (frozenset(_META_FIELDS), {}),
    "PodSpec": (
        _f(
            "volumes",
            "initContainers",
            "containers",
            "ephemeralContainers",
            "restartPolicy",
            "terminationGracePeriodSeconds",
            "activeDeadlineSeconds",
            "dnsPolicy",
            "nodeSelector",
            "serviceAccountName",
            "serviceAccount",
            "automountServiceAccountToken",
            "nodeName",
            "hostNetwork",
            "hostPID",
            "hostIPC",
            "shareProcessNamespace",
            "securityContext",
            "imagePullSecrets",
            "hostname",
            "subdomain",
            "affinity",
            "schedulerName",
            "tolerations",
            "hostAliases",
            "priorityClassName",
            "priority",
            "dnsConfig",
            "readinessGates",
            "runtimeClassName",
            "enableServiceLinks",
            "preemptionPolicy",
            "overhead",
            "topologySpreadConstraints",
            "setHostnameAsFQDN",
            "os",
            "hostUsers",
            "schedulingGates",
            "resourceClaims",
            "resources",
        ),
        {"containers": "Container", "initContainers": "Container", "tolerations": "Toleration"},
    ),
    "Container": (
        _f(
            "name",
            "image",
            "command",
            "args",
            "workingDir",
            "ports",
            "envFrom",
            "env",
            "resources",
            "resizePolicy",
            "restartPolicy",
            "volumeMounts",
            "volumeDevices",
            "livenessProbe",
            "readinessProbe",
            "startupProbe",
            "lifecycle",
            "terminationMessagePath",
            "terminationMessagePolicy",
            "imagePullPolicy",
            "securityContext",
            "stdin",
            "stdinOnce",
            "tty",
        ),
        {
            "ports": "ContainerPort",
            "env": "EnvVar",
            "resources": "ResourceRequirements",
            "volumeMounts": "VolumeMount",
        },
    ),
    "ContainerPort": (_f("name", "hostPort", "containerPort", "protocol", "hostIP"), {}),
    "EnvVar": (_f("name", "value", "valueFrom"), {}),
    "ResourceRequirements": (_f("limits", "requests", "claims"), {}),
    "VolumeMount": (
        _f(
            "name", "readOnly", "recursiveReadOnly", "mountPath", "subPath", "mountPropagation", "subPathExpr"
        ),
        {},
    ),
    "Toleration": (_f("key", "operator", "value", "effect", "tolerationSeconds"), {}),
    "ServiceSpec": (
        _f(
            "ports",
            "selector",
            "clusterIP",
            "clusterIPs",
            "type",
            "externalIPs",
            "sessionAffinity",
            "loadBalancerIP",
            "loadBalancerSourceRanges",
            "externalName",
            "externalTrafficPolicy",
            "healthCheckNodePort",
            "publishNotReadyAddresses",
            "sessionAffinityConfig",
            "ipFamilies",
            "ipFamilyPolicy",
            "allocateLoadBalancerNodePorts",
            "loadBalancerClass",
            "internalTrafficPolicy",
            "trafficDistribution",
        ),
        {"ports": "ServicePort"},
    ),
    "ServicePort": (_f("name", "protocol", "appProtocol", "port", "targetPort", "nodePort"), {}),
}
_SPEC_TYPES = {
    "deployments.apps": "DeploymentSpec",
    "replicasets.apps": "ReplicaSetSpec",
    "jobs.batch": "JobSpec",
    "pods": "PodSpec",
    "services": "ServiceSpec",
}


def _walk(value: Any, type_name: str, path: str, out: list[str]) -> None:
    if isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, type_name, f"{path}[{i}]", out)
        return
    if not isinstance(value, dict):
        return
    fields, children = _TYPES[type_name]
    for key in [k for k in value if k not in fields]:
        del value[key]
        out.append(f"{path}.{key}")
    for key, child in children.items():
        if key in value:
            _walk(value[key], child, f"{path}.{key}", out)


def drop_unknown_fields(res: Resource, obj: dict[str, Any]) -> list[str]:
    """Remove fields the kind does not have (where its types are known); return their paths."""
    if res.storage_key in _PRESERVE_UNKNOWN or res.alias_of:
        return []
    allowed = {"apiVersion", "kind", "metadata"} | _TOP_FIELDS.get(res.storage_key, _SPEC_STATUS)
    unknown = [key for key in obj if key not in allowed]
    for key in unknown:
        del obj[key]
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        _walk(meta, "ObjectMeta", "metadata", unknown)
    spec_type = _SPEC_TYPES.get(res.storage_key)
    if spec_type is not None and "spec" in obj:
        _walk(obj["spec"], spec_type, "spec", unknown)
    return unknown
