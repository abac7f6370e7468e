"""Discovery documents (/api, /apis, APIResourceLists) and the /version answer."""

from __future__ import annotations

import platform
from typing import Any

from podium_kubesim.resources import ALL_VERBS, GROUP_VERSIONS, Resource

GIT_VERSION = "v1.31.4-eks-kubesim"

# Verbs of each subresource, as the real server lists them.
_SUBRESOURCE_VERBS: dict[str, list[str]] = {
    "status": ["get", "patch", "update"],
    "scale": ["get", "patch", "update"],
    "log": ["get"],
    "eviction": ["create"],
    "binding": ["create"],
    "proxy": ["create", "delete", "get", "patch", "update"],
}
_SUBRESOURCE_KINDS = {
    "scale": "Scale",
    "log": "Pod",
    "proxy": None,
    "eviction": "Eviction",
    "binding": "Binding",
}
_NO_DELETECOLLECTION = {"namespaces"}
REVIEW_KEYS = {"selfsubjectaccessreviews.authorization.k8s.io"}


def version_info() -> dict[str, str]:
    return {
        "major": "1",
        "minor": "31",
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.22.9",
        "compiler": "gc",
        "platform": f"linux/{'arm64' if platform.machine() in ('arm64', 'aarch64') else 'amd64'}",
    }


def verbs(res: Resource) -> list[str]:
    if res.key in REVIEW_KEYS:
        return ["create"]
    if res.storage_key in _NO_DELETECOLLECTION:
        return [v for v in ALL_VERBS if v != "deletecollection"]
    return list(ALL_VERBS)


def _proxy_kind(res: Resource) -> str:
    return {"pods": "PodProxyOptions", "services": "ServiceProxyOptions", "nodes": "NodeProxyOptions"}.get(
        res.plural, "Status"
    )


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    resources = GROUP_VERSIONS.get((group, version))
    if resources is None:
        return None
    out: list[dict[str, Any]] = []
    for res in resources:
        entry: dict[str, Any] = {
            "name": res.plural,
            "singularName": res.singular,
            "namespaced": res.namespaced,
            "kind": res.kind,
            "verbs": verbs(res),
        }
        if res.short_names:
            entry["shortNames"] = list(res.short_names)
        if res.categories:
            entry["categories"] = list(res.categories)
        out.append(entry)
        for sub in res.subresources:
            sub_entry: dict[str, Any] = {
                "name": f"{res.plural}/{sub}",
                "singularName": "",
                "namespaced": res.namespaced,
                "kind": _SUBRESOURCE_KINDS.get(sub, res.kind) or _proxy_kind(res),
                "verbs": _SUBRESOURCE_VERBS.get(sub, ["get"]),
            }
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1")
            if sub == "eviction":
                sub_entry.update(group="policy", version="v1")
            out.append(sub_entry)
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": out}


def core_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def group_entry(group: str) -> dict[str, Any]:
    versions = [v for (g, v) in GROUP_VERSIONS if g == group]
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def group_list() -> dict[str, Any]:
    groups = []
    for group in dict.fromkeys(g for (g, _) in GROUP_VERSIONS if g):
        groups.append(group_entry(group))
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(group_name: str) -> dict[str, Any] | None:
    if not any(g == group_name for (g, _) in GROUP_VERSIONS):
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **group_entry(group_name)}


# --- aggregated discovery (apidiscovery.k8s.io/v2), which kubectl 1.30+ asks for first ---------------

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str) -> bool:
    """True when the client lists the v2 aggregated discovery document among what it accepts."""
    for part in accept.split(","):
        params = {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in part.split(";")[1:])}
        if (
            params.get("g") == "apidiscovery.k8s.io"
            and params.get("v") == "v2"
            and params.get("as") == ("APIGroupDiscoveryList")
        ):
            return True
    return False


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


def _resource_discovery(res: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": res.plural,
        "responseKind": _gvk(res.group, res.version, res.kind),
        "scope": "Namespaced" if res.namespaced else "Cluster",
        "singularResource": res.singular,
        "verbs": verbs(res),
    }
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    subs = []
    for sub in res.subresources:
        kind = _SUBRESOURCE_KINDS.get(sub, res.kind) or _proxy_kind(res)
        group, version = res.group, res.version
        if sub == "scale":
            group, version = "autoscaling", "v1"
        elif sub == "eviction":
            group, version = "policy", "v1"
        subs.append(
            {
                "subresource": sub,
                "responseKind": _gvk(group, version, kind),
                "verbs": _SUBRESOURCE_VERBS.get(sub, ["get"]),
            }
        )
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(core: bool) -> dict[str, Any]:
    """The APIGroupDiscoveryList for /api (core) or /apis (every named group)."""
    items = []
    groups = [""] if core else list(dict.fromkeys(g for (g, _) in GROUP_VERSIONS if g))
    for group_name in groups:
        versions = [
            {
                "version": version,
                "resources": [_resource_discovery(r) for r in GROUP_VERSIONS[(g, version)]],
                "freshness": "Current",
            }
            for (g, version) in GROUP_VERSIONS
            if g == group_name
        ]
        meta: dict[str, Any] = (
            {"name": group_name, "creationTimestamp": None} if group_name else {"creationTimestamp": None}
        )
        items.append({"metadata": meta, "versions": versions})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }
