"""The console against the real stack: the overview's GPU figures equal the cluster's, a pool deployed
from the form comes up live, a change made in one browser appears in another within a second, a viewer
sees no mutating control, the page survives an API restart without a reload, and every page passes
axe-core. One module: the stack (kubesim, worker, watcher, API) starts once."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

from kubernetes import client as k8s
from playwright.sync_api import Page, expect

from e2e.conftest import check_accessibility, screenshot
from e2e.stack import ApiServer, Person

GPU = "nvidia.com/gpu"
POOL = "e2e-pool"


def _gpus(resources: dict[str, str] | None) -> int:
    return int((resources or {}).get(GPU, "0"))


def cluster_gpus(kube: k8s.ApiClient) -> dict[str, int]:
    """Capacity, allocatable and requested GPUs read from the cluster itself, not through Podium."""
    core = k8s.CoreV1Api(kube)
    nodes = core.list_node().items
    requested = 0
    for pod in core.list_pod_for_all_namespaces().items:
        if pod.spec.node_name and pod.status.phase not in ("Succeeded", "Failed"):
            for c in pod.spec.containers:
                limits = (c.resources.limits or {}) if c.resources else {}
                requests = (c.resources.requests or {}) if c.resources else {}
                requested += _gpus(requests) or _gpus(limits)
    return {
        "capacity": sum(_gpus(n.status.capacity) for n in nodes),
        "allocatable": sum(_gpus(n.status.allocatable) for n in nodes),
        "requested": requested,
    }


def test_overview_gpu_figures_equal_the_clusters(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str, kube: k8s.ApiClient
) -> None:
    page = signed_in(people["viewer"])
    page.goto(f"/c/{sim_cluster}/overview")
    totals = page.get_by_test_id("totals-data")
    expect(totals).to_have_attribute("data-capacity", re.compile(r"^[1-9]"))
    want = cluster_gpus(kube)
    assert want["capacity"] > 0
    for name, value in want.items():
        expect(totals).to_have_attribute(f"data-{name}", str(value))
    check_accessibility(page, "overview")
    screenshot(page, "overview")


def test_deploy_a_pool_from_the_form_and_a_second_browser_sees_it_within_a_second(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str
) -> None:
    watcher_page = signed_in(people["viewer"])
    watcher_page.goto("/operations")
    expect(watcher_page.get_by_test_id("operations-table")).to_be_visible()
    watcher_page.wait_for_load_state("networkidle")

    page = signed_in(people["operator"])
    page.goto(f"/c/{sim_cluster}/deploy")
    check_accessibility(page, "deploy")
    page.get_by_test_id("deploy-model").fill("Qwen/Qwen3-0.6B")
    page.get_by_test_id("deploy-name").fill(POOL)
    page.get_by_test_id("deploy-gpus").fill("1")
    page.get_by_test_id("deploy-replicas").fill("2")
    page.get_by_test_id("deploy-pool").click()
    screenshot(page, "deploy")
    page.get_by_test_id("deploy-submit").click()
    accepted = page.get_by_test_id("live-operation")
    expect(accepted).to_be_visible()
    op_id = accepted.get_attribute("data-op-id")
    assert op_id
    # The API acknowledged it (202, shown above); the other browser shows it within a second.
    expect(watcher_page.get_by_test_id(f"row-{op_id}")).to_be_visible(timeout=1_000)
    expect(page.get_by_test_id("op-status")).to_have_attribute("data-status", "succeeded", timeout=60_000)

    page.goto(f"/c/{sim_cluster}/models/default/{POOL}")
    # Pods come up while the page stays open: the ready count moves without a reload.
    expect(page.get_by_test_id("replicas-ready")).to_have_text("2/2", timeout=60_000)
    check_accessibility(page, "model detail")
    screenshot(page, "model-pool")
    page.goto(f"/c/{sim_cluster}/models")
    expect(page.get_by_test_id(f"row-default/{POOL}")).to_be_visible()
    check_accessibility(page, "models")
    screenshot(page, "models")


def test_a_viewer_sees_no_mutating_control(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str
) -> None:
    page = signed_in(people["viewer"])
    for path, absent in [
        (f"/c/{sim_cluster}/deploy", ["deploy-form", "deploy-submit", "command-line"]),
        (f"/c/{sim_cluster}/services", ["service-create", "service-create-submit"]),
        ("/audit", ["audit-verify"]),
    ]:
        page.goto(path)
        expect(page.get_by_test_id("whoami")).to_be_visible()
        page.wait_for_load_state("networkidle")
        for testid in absent:
            expect(page.get_by_test_id(testid)).to_have_count(0)


def test_the_page_resumes_after_an_api_restart_without_reloading(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str, api: ApiServer,
    kube: k8s.ApiClient,
) -> None:  # fmt: skip
    page = signed_in(people["viewer"])
    page.goto(f"/c/{sim_cluster}/workloads/pods?namespace=default")
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-phase", "live")
    page.evaluate("window.__podiumNoReload = true")
    api.stop()
    # Changes while the API is down are kept by the watcher's stream; the page must get them on resume.
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    k8s.CoreV1Api(kube).create_namespaced_pod(
        "default", {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    )
    api.start()
    expect(page.get_by_test_id(f"row-default/{name}")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-phase", "live")
    assert page.evaluate("window.__podiumNoReload") is True


def test_every_page_passes_axe(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str
) -> None:
    page = signed_in(people["admin"])
    pages = {
        "pods": f"/c/{sim_cluster}/workloads/pods",
        "services": f"/c/{sim_cluster}/services",
        "playground": f"/c/{sim_cluster}/playground",
        "operations": "/operations",
        "audit": "/audit",
        "users": "/admin/users",
        "clusters": "/admin/clusters",
    }
    for name, path in pages.items():
        page.goto(path)
        expect(page.get_by_test_id("whoami")).to_be_visible()
        page.wait_for_load_state("networkidle")
        check_accessibility(page, name)
        screenshot(page, name)


def test_audit_filter_csv_download_and_verify(
    signed_in: Callable[[Person], Page], people: dict[str, Person]
) -> None:
    admin = people["admin"]
    page = signed_in(admin)
    page.goto("/audit")
    page.get_by_test_id("audit-actor").fill(admin.username)
    page.get_by_test_id("audit-actor").press("Enter")
    expect(page).to_have_url(re.compile(f"actor={re.escape(admin.username)}"))
    rows = page.get_by_test_id("audit-table").locator("[data-row-key]")
    expect(rows.first).to_contain_text("auth.login")
    # The URL changes before the filtered page replaces the unfiltered one: wait for the rows to settle.
    expect(rows.filter(has_not_text=admin.username)).to_have_count(0)

    with page.expect_download() as download:
        page.get_by_test_id("audit-export-csv").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert "actor" in lines[0]
    assert len(lines) > 1
    assert all(admin.username in line for line in lines[1:])

    page.get_by_test_id("audit-verify").click()
    expect(page.get_by_test_id("audit-verify-result")).to_have_attribute("data-ok", "true")
    check_accessibility(page, "audit")


def test_a_long_list_renders_only_the_rows_in_view_sorts_and_passes_axe(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str, kube: k8s.ApiClient
) -> None:
    """Over 100 rows a list is windowed (VirtualTable): the count is all rows, the DOM holds a screenful."""
    core = k8s.CoreV1Api(kube)
    ns = f"e2e-long-{uuid.uuid4().hex[:5]}"
    core.create_namespace({"metadata": {"name": ns}})
    for i in range(150):
        core.create_namespaced_service(
            ns, {"metadata": {"name": f"svc-{i}"}, "spec": {"ports": [{"port": 80}]}}
        )
    page = signed_in(people["viewer"])
    page.goto(f"/c/{sim_cluster}/workloads/services?namespace={ns}")
    table = page.get_by_test_id("services-table")
    expect(table.get_by_test_id("row-count")).to_have_text("150 of 150 rows")
    rendered = table.locator("[data-row-key]")
    assert 0 < rendered.count() < 60
    # Names sort as people read them: svc-2 before svc-10.
    expect(rendered.nth(2)).to_have_attribute("data-row-key", f"{ns}/svc-2")
    check_accessibility(page, "long list")
    table.get_by_role("region").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    expect(table.get_by_test_id(f"row-{ns}/svc-149")).to_be_visible()
    table.get_by_role("columnheader", name="Name", exact=True).get_by_role("button").click()  # descending
    table.get_by_role("region").evaluate("el => { el.scrollTop = 0; }")
    expect(rendered.first).to_have_attribute("data-row-key", f"{ns}/svc-149")
    page.get_by_test_id("table-filter").fill("svc-14")
    expect(table.get_by_test_id("row-count")).to_have_text("11 of 150 rows")
