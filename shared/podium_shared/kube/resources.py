"""Which Kubernetes kinds Podium's generic commands (label, annotate, delete) accept, and how their REST
paths are built. Group, version and plural come from this table, never from the request; names and
namespaces travel as URL-quoted path parameters, so user input cannot change which path is called."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from podium_shared.errors import Invalid, PodiumError

# RFC 1123 label (namespaces, most names) and subdomain (node and pod names may contain dots).
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_API_GROUP = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_API_VERSION = re.compile(r"^v[0-9]+((alpha|beta)[0-9]+)?$")
# Server-side apply's owner of every field Podium writes (any domain applying manifests uses it).
FIELD_MANAGER = "podium"


def literal(value: str) -> str:
    """A string Kubernetes passes to the container unchanged. The kubelet expands `$(VAR)` in a container's
    `command`, `args` and env `value`s (`$$` is the escape for `$`), so an unescaped user string such as
    `$(HF_TOKEN)` would read another variable of the pod: every `$` of a user value is doubled."""
    return value.replace("$", "$$")


def group_version_path(group: str, version: str) -> str:
    """The REST root of an API group version ("" is the core group): the one place paths start."""
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def api_version_of(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


@dataclass(frozen=True)
class ResourceType:
    kind: str  # the Kubernetes Kind, e.g. "Deployment"
    group: str  # "" for the core group
    version: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return api_version_of(self.group, self.version)

    def path(self, *, namespaced_path: bool, named: bool) -> str:
        base = group_version_path(self.group, self.version)
        if namespaced_path:
            base += "/namespaces/{namespace}"
        base += f"/{self.plural}"
        if named:
            base += "/{name}"
        return base

    def object_path(self, name: str, namespace: str | None) -> tuple[str, dict[str, str]]:
        params = {"name": name}
        if self.namespaced:
            if not namespace:
                raise Invalid(f"{self.kind.lower()} is namespaced: a namespace is required")
            params["namespace"] = namespace
        return self.path(namespaced_path=self.namespaced, named=True), params


_TYPES = [
    ResourceType("Pod", "", "v1", "pods", True),
    ResourceType("Service", "", "v1", "services", True),
    ResourceType("ConfigMap", "", "v1", "configmaps", True),
    ResourceType("Secret", "", "v1", "secrets", True),
    ResourceType("ServiceAccount", "", "v1", "serviceaccounts", True),
    ResourceType("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims", True),
    ResourceType("Namespace", "", "v1", "namespaces", False),
    ResourceType("Node", "", "v1", "nodes", False),
    ResourceType("PersistentVolume", "", "v1", "persistentvolumes", False),
    ResourceType("Deployment", "apps", "v1", "deployments", True),
    ResourceType("ReplicaSet", "apps", "v1", "replicasets", True),
    ResourceType("StatefulSet", "apps", "v1", "statefulsets", True),
    ResourceType("DaemonSet", "apps", "v1", "daemonsets", True),
    ResourceType("Job", "batch", "v1", "jobs", True),
    ResourceType("CronJob", "batch", "v1", "cronjobs", True),
    ResourceType("Ingress", "networking.k8s.io", "v1", "ingresses", True),
    ResourceType("PyTorchJob", "kubeflow.org", "v1", "pytorchjobs", True),
    ResourceType("HyperPodPyTorchJob", "sagemaker.amazonaws.com", "v1", "hyperpodpytorchjobs", True),
]
# Accepted spellings: "deployment", "Deployment", "deployments", "deploy"-style short names are not
# accepted on purpose (one obvious way), but the plural is, because kubectl users type it.
_BY_NAME: dict[str, ResourceType] = {}
for _t in _TYPES:
    _BY_NAME[_t.kind.lower()] = _t
    _BY_NAME[_t.plural] = _t


def known_kinds() -> list[str]:
    return sorted(t.kind.lower() for t in _TYPES)


def resource_type(kind: str) -> ResourceType:
    found = _BY_NAME.get(kind.strip().lower())
    if found is None:
        raise Invalid(f"unknown kind {kind!r}; known kinds: {', '.join(known_kinds())}")
    return found


def check_name(value: str, what: str = "name") -> str:
    if len(value) > 253 or not DNS_SUBDOMAIN.match(value):
        raise ValueError(f"{what} {value!r} is not a valid Kubernetes name (lowercase RFC 1123 subdomain)")
    return value


def check_namespace(value: str) -> str:
    if len(value) > 63 or not DNS_LABEL.match(value):
        raise ValueError(f"namespace {value!r} is not a valid Kubernetes namespace name (RFC 1123 label)")
    return value


def check_label_key(key: str) -> str:
    """`[prefix/]name` with a DNS-subdomain prefix and a 63-character qualified name, as Kubernetes does."""
    prefix, sep, name = key.rpartition("/")
    if sep and (not prefix or len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
        raise ValueError(f"key {key!r}: the prefix must be a DNS subdomain")
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        raise ValueError(
            f"key {key!r}: the name part must be 1-63 characters, alphanumeric, '-', '_' or '.', "
            "starting and ending with an alphanumeric character"
        )
    return key


def check_label_value(key: str, value: str) -> str:
    if value and (len(value) > 63 or not _QUALIFIED_NAME.match(value)):
        raise ValueError(
            f"label {key!r}: value {value!r} must be at most 63 characters, alphanumeric, '-', '_' or '.', "
            "starting and ending with an alphanumeric character"
        )
    return value


def split_api_version(api_version: str) -> tuple[str, str]:
    group, sep, version = api_version.rpartition("/")
    if not _API_VERSION.match(version) or (sep and not _API_GROUP.match(group)):
        raise Invalid(f"apiVersion {api_version!r} is not valid")
    return group, version


def discover(request: Any, api_version: str, kind: str) -> ResourceType:
    """Find a kind's plural and scope from the server's discovery document (any CRD works for apply).

    `request` is `ClusterClients.request`; passed in so this module stays free of client state."""
    group, version = split_api_version(api_version)
    if group:
        doc = request("GET", "/apis/{group}/{version}", path_params={"group": group, "version": version})
    else:
        doc = request("GET", "/api/{version}", path_params={"version": version})
    for res in doc.get("resources", []):
        if res.get("kind") == kind and "/" not in res.get("name", ""):
            return ResourceType(kind, group, version, res["name"], bool(res.get("namespaced")))
    raise PodiumError(
        f"the cluster does not serve kind {kind!r} in {api_version!r}", code="unknown_kind", status=422
    )
