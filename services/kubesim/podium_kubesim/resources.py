"""The resource types kubesim serves, described once for discovery, routing, storage and validation."""

from __future__ import annotations

from dataclasses import dataclass

# Verbs as the real API server lists them in discovery documents.
ALL_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)


@dataclass(frozen=True)
class Resource:
    group: str  # "" for core
    version: str  # "v1"
    kind: str  # "Pod"
    plural: str  # "pods"
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # ("status", "log", "scale", "proxy", ...)
    categories: tuple[str, ...] = ()
    # Real servers bump metadata.generation only for kinds whose strategy tracks spec changes.
    tracks_generation: bool = False
    # A second name under which the same stored objects are served (events.k8s.io/v1 Event reads core Events).
    alias_of: str | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def storage_key(self) -> str:
        return self.alias_of or self.key


def _r(  # noqa: PLR0917 - a compact table row builder
    group: str,
    version: str,
    kind: str,
    plural: str,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    sub: tuple[str, ...] = (),
    all_category: bool = False,
    generation: bool = False,
    alias_of: str | None = None,
) -> Resource:
    return Resource(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        namespaced=namespaced,
        short_names=short,
        subresources=sub,
        categories=("all",) if all_category else (),
        tracks_generation=generation,
        alias_of=alias_of,
    )


_ALL: tuple[Resource, ...] = (
    _r("", "v1", "Namespace", "namespaces", False, ("ns",), ("status",)),
    _r("", "v1", "Node", "nodes", False, ("no",), ("status", "proxy")),
    _r(
        "",
        "v1",
        "Pod",
        "pods",
        True,
        ("po",),
        ("status", "log", "proxy", "eviction", "binding"),
        all_category=True,
    ),
    _r("", "v1", "Service", "services", True, ("svc",), ("status", "proxy"), all_category=True),
    _r("", "v1", "Endpoints", "endpoints", True, ("ep",)),
    _r("", "v1", "Event", "events", True, ("ev",)),
    _r("", "v1", "Secret", "secrets"),
    _r("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    _r("", "v1", "PersistentVolume", "persistentvolumes", False, ("pv",), ("status",)),
    _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ("pvc",), ("status",)),
    _r("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",)),
    _r("apps", "v1", "Deployment", "deployments", True, ("deploy",), ("status", "scale"), True, True),
    _r("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), ("status", "scale"), True, True),
    _r("batch", "v1", "Job", "jobs", True, (), ("status",), True, True),
    _r("coordination.k8s.io", "v1", "Lease", "leases"),
    # Stored only (no authorisation is enforced): Podium's deploy/ manifests carry RBAC and must apply.
    _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _r("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _r("events.k8s.io", "v1", "Event", "events", True, ("ev",), alias_of="events"),
    _r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    _r(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ("crd", "crds"),
        ("status",),
        generation=True,
    ),
    # Answered, never stored: kubesim authorizes everything (`kubectl auth can-i` says yes).
    _r("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False),
    _r("kubeflow.org", "v1", "PyTorchJob", "pytorchjobs", True, (), ("status",), generation=True),
    _r(
        "sagemaker.amazonaws.com",
        "v1",
        "HyperPodPyTorchJob",
        "hyperpodpytorchjobs",
        True,
        ("hppj",),
        ("status",),
        generation=True,
    ),
)

RESOURCES: dict[str, Resource] = {r.key: r for r in _ALL}

# Custom resources: served under their group like any other, and also described by a CRD object so
# clients that look for the CRD before using the kind find it.
CUSTOM_RESOURCE_KEYS: tuple[str, ...] = (
    "pytorchjobs.kubeflow.org",
    "hyperpodpytorchjobs.sagemaker.amazonaws.com",
)

# (group, version) -> resources, in registry order; the core group is "".
GROUP_VERSIONS: dict[tuple[str, str], list[Resource]] = {}
for _res in _ALL:
    GROUP_VERSIONS.setdefault((_res.group, _res.version), []).append(_res)


def resource(key: str) -> Resource:
    """Look a resource up by "plural.group" ("pods", "deployments.apps"); KeyError if unknown."""
    return RESOURCES[key]


def by_path(group: str, version: str, plural: str) -> Resource | None:
    for res in GROUP_VERSIONS.get((group, version), ()):
        if res.plural == plural:
            return res
    return None


def by_kind(api_version: str, kind: str) -> Resource | None:
    group, _, version = api_version.rpartition("/")
    for res in GROUP_VERSIONS.get((group, version), ()):
        if res.kind == kind and res.alias_of is None:
            return res
    for res in GROUP_VERSIONS.get((group, version), ()):
        if res.kind == kind:
            return res
    return None


def crd_object(res: Resource) -> dict[str, object]:
    """A CustomResourceDefinition that describes a custom resource kubesim serves natively."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{res.plural}.{res.group}"},
        "spec": {
            "group": res.group,
            "names": {
                "kind": res.kind,
                "listKind": res.list_kind,
                "plural": res.plural,
                "singular": res.singular,
                "shortNames": list(res.short_names),
            },
            "scope": "Namespaced" if res.namespaced else "Cluster",
            "versions": [
                {
                    "name": res.version,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                    "subresources": {"status": {}},
                }
            ],
        },
        "status": {
            "acceptedNames": {"kind": res.kind, "plural": res.plural},
            "conditions": [
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
            ],
            "storedVersions": [res.version],
        },
    }
