"""Scale and log subresources, discovery, version/health, and the /_sim/ fault-injection API."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from podium_kubesim.resources import RESOURCES
from podium_kubesim.runner import RunningKubeSim

from kubesim.helpers import deployment, unscheduled_pod, wait_for


def test_scale_subresource(apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("sc", replicas=1))
    scale = apps.read_namespaced_deployment_scale("sc", namespace)
    assert scale.kind == "Scale"
    assert scale.spec.replicas == 1
    assert scale.status.selector == "app=sc"
    apps.patch_namespaced_deployment_scale("sc", namespace, {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("sc", namespace).spec.replicas == 3
    _replace_scale(apps, namespace, "sc", 0)
    assert apps.read_namespaced_deployment("sc", namespace).spec.replicas == 0
    stale = apps.read_namespaced_deployment_scale("sc", namespace)
    apps.patch_namespaced_deployment_scale("sc", namespace, {"spec": {"replicas": 1}})
    stale.spec.replicas = 5
    with pytest.raises(ApiException) as exc:
        apps.replace_namespaced_deployment_scale("sc", namespace, stale)
    assert exc.value.status == 409


def _replace_scale(apps: client.AppsV1Api, namespace: str, name: str, replicas: int) -> None:
    """Read-modify-replace as a real client does it: the deployment controller may write the status (a new
    resourceVersion) between the read and the replace, and the server rightly answers 409; read again."""
    for _ in range(20):
        scale = apps.read_namespaced_deployment_scale(name, namespace)
        scale.spec.replicas = replicas
        try:
            apps.replace_namespaced_deployment_scale(name, namespace, scale)
            return
        except ApiException as exc:
            if exc.status != 409:
                raise
    raise AssertionError("20 conflicts in a row replacing the scale")


def _log_pod(kubesim: RunningKubeSim, core: client.CoreV1Api, namespace: str, name: str) -> None:
    core.create_namespaced_pod(namespace, unscheduled_pod(name))


def test_logs_tail_and_follow(kubesim: RunningKubeSim, core: client.CoreV1Api, namespace: str) -> None:
    _log_pod(kubesim, core, namespace, "logger")
    for i in range(5):
        kubesim.call(lambda i=i: kubesim.sim.logs.append(namespace, "logger", "app", f"line {i}"))
    assert core.read_namespaced_pod_log("logger", namespace) == "".join(f"line {i}\n" for i in range(5))
    assert core.read_namespaced_pod_log("logger", namespace, tail_lines=2) == "line 3\nline 4\n"
    stamped = core.read_namespaced_pod_log("logger", namespace, tail_lines=1, timestamps=True)
    assert stamped.endswith("Z line 4\n")
    assert core.read_namespaced_pod_log("logger", namespace, since_seconds=3600).count("\n") == 5

    resp = core.read_namespaced_pod_log(
        "logger", namespace, follow=True, tail_lines=1, _preload_content=False
    )
    received: list[str] = []
    for chunk in resp.stream(1024):
        received.append(chunk.decode())
        if "".join(received) == "line 4\n":
            # The tail has arrived, so the follow is live: a new line must come through, and
            # removing the pod must end the stream.
            kubesim.call(lambda: kubesim.sim.logs.append(namespace, "logger", "app", "live line"))
        elif "".join(received).endswith("live line\n"):
            core.delete_namespaced_pod("logger", namespace)
    assert "".join(received) == "line 4\nlive line\n"


def test_logs_since_time_and_follow_ends_with_the_container(
    kubesim: RunningKubeSim, core: client.CoreV1Api, namespace: str
) -> None:
    _log_pod(kubesim, core, namespace, "since")
    t0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    for i in range(4):
        stamp = t0 + timedelta(seconds=i, microseconds=500)
        kubesim.call(lambda i=i, s=stamp: kubesim.sim.logs.append(namespace, "since", "app", f"l{i}", s))
    path = f"/api/v1/namespaces/{namespace}/pods/since/log"
    with httpx.Client(base_url=kubesim.url) as http:
        # sinceTime is inclusive and, like the API server's, takes RFC 3339 with or without a fraction.
        r = http.get(path, params={"sinceTime": "2026-01-01T12:00:02Z", "timestamps": "true"})
        assert r.text == ("2026-01-01T12:00:02.000500000Z l2\n2026-01-01T12:00:03.000500000Z l3\n")
        r = http.get(path, params={"sinceTime": "2026-01-01T12:00:03.000500Z"})
        assert r.text == "l3\n"
        assert http.get(path, params={"sinceTime": "yesterday"}).status_code == 400

        def terminate(o: dict) -> None:  # type: ignore[type-arg]
            o.setdefault("status", {})["containerStatuses"] = [
                {"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
            ]

        kubesim.call(
            lambda: kubesim.sim.store.mutate(
                RESOURCES["pods"], namespace, "since", terminate, subresource="status"
            )
        )
        # A follow of a terminated container returns what it wrote and ends, as the kubelet's does.
        r = http.get(path, params={"follow": "true", "sinceTime": "2026-01-01T12:00:03Z"}, timeout=10)
        assert r.text == "l3\n"


def test_log_errors(core: client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod_log("ghost", namespace)
    assert exc.value.status == 404
    two = unscheduled_pod("two")
    two["spec"]["containers"].append({"name": "side", "image": "busybox:1.36"})
    core.create_namespaced_pod(namespace, two)
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod_log("two", namespace)
    assert exc.value.status == 400
    assert "a container name must be specified for pod two, choose one of: [app side]" in exc.value.body
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod_log("two", namespace, container="nope")
    assert "container nope is not valid for pod two" in exc.value.body


def test_discovery_documents(kubesim: RunningKubeSim) -> None:
    core = httpx.get(kubesim.url + "/api/v1").json()
    pods = next(r for r in core["resources"] if r["name"] == "pods")
    assert pods["namespaced"] is True
    assert pods["kind"] == "Pod"
    assert "watch" in pods["verbs"]
    assert pods["shortNames"] == ["po"]
    assert pods["categories"] == ["all"]
    names = {r["name"] for r in core["resources"]}
    assert {"pods/log", "pods/status", "services/proxy", "namespaces"} <= names
    apps = httpx.get(kubesim.url + "/apis/apps/v1").json()
    scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    groups = {g["name"] for g in httpx.get(kubesim.url + "/apis").json()["groups"]}
    assert {r.group for r in RESOURCES.values() if r.group} == groups
    version = httpx.get(kubesim.url + "/version").json()
    assert version["gitVersion"].startswith("v1.31.")
    for probe in ("/healthz", "/readyz", "/livez"):
        assert httpx.get(kubesim.url + probe).text == "ok"
    index = httpx.get(kubesim.url + "/openapi/v3").json()
    doc = httpx.get(kubesim.url + index["paths"]["apis/apps/v1"]["serverRelativeURL"]).json()
    assert doc["openapi"].startswith("3.")


def test_unknown_resource_and_method(kubesim: RunningKubeSim) -> None:
    assert httpx.get(kubesim.url + "/api/v1/widgets").status_code == 404
    resp = httpx.post(kubesim.url + "/api/v1/namespaces/default/pods/x/log")
    assert resp.status_code == 405
    assert resp.json()["reason"] == "MethodNotAllowed"


@pytest.fixture
def faults(kubesim: RunningKubeSim) -> httpx.Client:
    admin = httpx.Client(base_url=kubesim.url + "/_sim")
    yield admin  # type: ignore[misc]
    admin.delete("/faults").raise_for_status()
    admin.close()


def test_deterministic_next_n_faults(faults: httpx.Client, core: client.CoreV1Api, namespace: str) -> None:
    faults.post("/faults", json={"verb": "list", "resource": "configmaps", "status": 503, "count": 2})
    for _ in range(2):
        with pytest.raises(ApiException) as exc:
            core.list_namespaced_config_map(namespace)
        assert exc.value.status == 503
    core.list_namespaced_config_map(namespace)  # the third goes through
    assert faults.get("/faults").json()["rules"] == []


def test_429_carries_retry_after(faults: httpx.Client, core: client.CoreV1Api, namespace: str) -> None:
    faults.post("/faults", json={"verb": "create", "status": 429, "count": 1, "retry_after": 7})
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "x"}})
    assert exc.value.status == 429
    assert exc.value.headers["Retry-After"] == "7"


def test_rate_faults_and_latency(faults: httpx.Client, core: client.CoreV1Api, namespace: str) -> None:
    faults.post("/faults", json={"verb": "get", "resource": "pods", "status": 500, "rate": 1.0})
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod("whatever", namespace)
    assert exc.value.status == 500
    faults.delete("/faults")
    faults.put("/latency", json={"seconds": 0.3})
    started = time.monotonic()
    core.list_namespaced_config_map(namespace)
    assert time.monotonic() - started >= 0.3


def test_pause_and_state(faults: httpx.Client, kubesim: RunningKubeSim) -> None:
    assert faults.post("/pause").json() == {"paused": True}
    assert kubesim.sim.paused
    state = faults.get("/state").json()
    assert state["paused"] is True
    assert state["objects"]["namespaces"] >= 4
    assert int(state["resourceVersion"]) > 0
    assert faults.post("/resume").json() == {"paused": False}
    wait_for(lambda: not kubesim.sim.paused)


def test_eviction_deletes_the_pod(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, unscheduled_pod("evictee"))
    core.create_namespaced_pod_eviction(
        "evictee",
        namespace,
        {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": "evictee", "namespace": namespace},
        },
    )
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod("evictee", namespace)
    assert exc.value.status == 404


def test_aggregated_discovery(kubesim: RunningKubeSim) -> None:
    accept = (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
    )
    resp = httpx.get(kubesim.url + "/apis", headers={"Accept": accept})
    assert (
        resp.headers["content-type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )
    apps = next(g for g in resp.json()["items"] if g["metadata"]["name"] == "apps")
    deployments = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deployments["scope"] == "Namespaced"
    assert deployments["responseKind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    core = httpx.get(kubesim.url + "/api", headers={"Accept": accept}).json()
    assert [v["version"] for v in core["items"][0]["versions"]] == ["v1"]
    # Clients that do not ask for it get the legacy documents.
    assert httpx.get(kubesim.url + "/apis").json()["kind"] == "APIGroupList"


def test_log_previous_and_limit_bytes(
    kubesim: RunningKubeSim, core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_pod(namespace, unscheduled_pod("prev"))
    kubesim.call(lambda: kubesim.sim.logs.append(namespace, "prev", "app", "0123456789"))
    assert core.read_namespaced_pod_log("prev", namespace, limit_bytes=4) == "0123"
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod_log("prev", namespace, previous=True)
    assert exc.value.status == 400
    message = json.loads(exc.value.body)["message"]
    assert message == 'previous terminated container "app" in pod "prev" not found'


def test_binding_places_a_pending_pod(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, unscheduled_pod("bindme"))
    node = core.list_node().items[0].metadata.name
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "bindme"},
        "target": {"kind": "Node", "name": node},
    }
    core.create_namespaced_pod_binding("bindme", namespace, binding, _preload_content=False)
    assert core.read_namespaced_pod("bindme", namespace).spec.node_name == node
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod_binding("bindme", namespace, binding, _preload_content=False)
    assert exc.value.status == 409


def test_injected_conflict_names_the_object(
    faults: httpx.Client, core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "cf"}, "data": {}})
    faults.post("/faults", json={"verb": "patch", "resource": "configmaps", "status": 409, "count": 1})
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map("cf", namespace, {"data": {"a": "b"}})
    assert exc.value.status == 409
    assert json.loads(exc.value.body)["message"].startswith(
        'Operation cannot be fulfilled on configmaps "cf": '
    )
    core.patch_namespaced_config_map("cf", namespace, {"data": {"a": "b"}})  # the retry succeeds
