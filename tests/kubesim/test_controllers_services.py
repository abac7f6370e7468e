"""Endpoints and load balancers through the official client: endpoints follow readiness and labels."""

from __future__ import annotations

import re
from typing import Any

import pytest
from kubernetes import client
from podium_kubesim.runner import RunningKubeSim

from kubesim.helpers import wait_for


@pytest.fixture
def core(small_cluster: tuple[RunningKubeSim, client.ApiClient]) -> client.CoreV1Api:
    return client.CoreV1Api(small_cluster[1])


def model_pod(name: str, business: str, **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"model": "qwen3", "business": business}},
        "spec": {
            "containers": [
                {
                    "name": "vllm",
                    "image": "vllm/vllm-openai:v0.6.4",
                    "args": ["--model", "Qwen/Qwen3-0.6B"],
                    "ports": [{"name": "http", "containerPort": 8000}],
                    **extra,
                }
            ]
        },
    }


def service(name: str, business: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"service-type": "business-service"}},
        "spec": {
            "selector": {"model": "qwen3", "business": business},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            **spec,
        },
    }


def endpoint_pods(core: client.CoreV1Api, ns: str, name: str) -> tuple[set[str], set[str]]:
    ep = core.read_namespaced_endpoints(name, ns)
    ready: set[str] = set()
    not_ready: set[str] = set()
    for s in ep.subsets or []:
        ready |= {a.target_ref.name for a in s.addresses or []}
        not_ready |= {a.target_ref.name for a in s.not_ready_addresses or []}
    return ready, not_ready


def test_endpoints_follow_readiness_and_labels(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_service(ns, service("prod", "prod"))
    core.create_namespaced_service(ns, service("test", "test"))
    svc = core.read_namespaced_service("prod", ns)
    assert re.fullmatch(r"10\.100\.\d+\.\d+", svc.spec.cluster_ip)
    for i in range(3):
        core.create_namespaced_pod(ns, model_pod(f"pool-{i}", "prod"))
    # A pod whose readiness probe waits long stays in notReadyAddresses meanwhile.
    core.create_namespaced_pod(
        ns,
        model_pod(
            "late",
            "prod",
            readinessProbe={"httpGet": {"path": "/health", "port": 8000}, "initialDelaySeconds": 3600},
        ),
    )
    wait_for(
        lambda: endpoint_pods(core, ns, "prod") == ({"pool-0", "pool-1", "pool-2"}, {"late"}),
        what="prod endpoints with a not-ready address",
    )
    ep = core.read_namespaced_endpoints("prod", ns)
    port = ep.subsets[0].ports[0]
    assert (port.name, port.port, port.protocol) == ("http", 8000, "TCP")  # named targetPort resolved
    addr = ep.subsets[0].addresses[0]
    assert addr.ip.startswith("10.")
    assert addr.node_name
    assert addr.target_ref.kind == "Pod"

    (slice_,) = (
        client.DiscoveryV1Api(core.api_client)
        .list_namespaced_endpoint_slice(ns, label_selector="kubernetes.io/service-name=prod")
        .items
    )
    assert slice_.address_type == "IPv4"
    assert slice_.metadata.owner_references[0].kind == "Service"
    conditions = {e.target_ref.name: e.conditions.ready for e in slice_.endpoints}
    assert conditions == {"pool-0": True, "pool-1": True, "pool-2": True, "late": False}
    assert all(e.zone and e.zone.startswith("us-west-2") for e in slice_.endpoints)
    assert (slice_.ports[0].name, slice_.ports[0].port) == ("http", 8000)

    core.patch_namespaced_pod("pool-1", ns, {"metadata": {"labels": {"business": "test"}}})
    wait_for(lambda: endpoint_pods(core, ns, "prod")[0] == {"pool-0", "pool-2"}, what="pool-1 left prod")
    wait_for(lambda: endpoint_pods(core, ns, "test")[0] == {"pool-1"}, what="pool-1 joined test")

    core.delete_namespaced_pod("pool-0", ns)  # terminating pods leave the endpoints at once
    wait_for(lambda: endpoint_pods(core, ns, "prod")[0] == {"pool-2"}, what="terminating pod removed")

    deleted = core.delete_namespaced_service("test", ns)  # the real API answers the deleted Service
    assert deleted.metadata.name == "test"

    def endpoints_gone() -> bool:
        try:
            core.read_namespaced_endpoints("test", ns)
        except client.ApiException as exc:
            return exc.status == 404
        return False

    wait_for(endpoints_gone, what="endpoints deleted with their service")


def test_load_balancer_gets_nlb_hostname(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_service(ns, service("public", "prod", type="LoadBalancer"))
    internal = service("private", "prod", type="LoadBalancer")
    internal["metadata"]["annotations"] = {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}
    core.create_namespaced_service(ns, internal)
    svc = core.read_namespaced_service("public", ns)
    assert svc.spec.ports[0].node_port
    assert 30000 <= svc.spec.ports[0].node_port <= 32767

    def hostname(name: str) -> str | None:
        lb = core.read_namespaced_service_status(name, ns).status.load_balancer
        return lb.ingress[0].hostname if lb and lb.ingress else None

    public = wait_for(lambda: hostname("public"), what="public LB address")
    private = wait_for(lambda: hostname("private"), what="internal LB address")
    prefix = ns[:8]
    assert re.fullmatch(rf"k8s-{prefix}-public-[0-9a-f]{{10}}\.elb\.us-west-2\.amazonaws\.com", public)
    assert re.fullmatch(
        rf"internal-k8s-{prefix}-private-[0-9a-f]{{10}}\.elb\.us-west-2\.amazonaws\.com", private
    )
    reasons = {
        e.reason for e in core.list_namespaced_event(ns, field_selector="involvedObject.name=public").items
    }
    assert {"EnsuringLoadBalancer", "EnsuredLoadBalancer"} <= reasons
