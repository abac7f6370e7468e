"""A model pool in the browser: two business Services created from the form, a pod moved with its
drop-down (share bars and pool status follow), a 3:1 distribution applied after its plan is shown, and a
scale-down the pool cannot do refused with its reason. The pool itself is deployed through the API (the
form is covered in test_console.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from kubernetes import client as k8s
from playwright.sync_api import Page, expect
from support.waiting import wait_until
from worker.fixtures import Pipeline

from e2e.conftest import check_accessibility, screenshot
from e2e.stack import ApiServer, Person

POOL = "e2e-shared"
NAMESPACE = "default"


@pytest.fixture(scope="module")
def pool(
    api: ApiServer, people: dict[str, Person], pipeline: Pipeline, sim_cluster: str, kube: k8s.ApiClient
) -> str:
    body = {
        "kind": "deploy_model",
        "cluster": sim_cluster,
        "params": {"namespace": NAMESPACE, "name": POOL, "engine": "vllm", "model": "Qwen/Qwen3-0.6B",
                   "gpus_per_replica": 1, "replicas": 4, "pool": True},
    }  # fmt: skip
    r = httpx.post(f"{api.url}/api/v1/commands", json=body, timeout=30,
                   headers={"Authorization": f"Bearer {people['operator'].token}"})  # fmt: skip
    assert r.status_code == 202, r.text
    assert pipeline.wait_finished(r.json()["id"], timeout=120).status.value == "succeeded"
    apps = k8s.AppsV1Api(kube)
    wait_until(lambda: (apps.read_namespaced_deployment(POOL, NAMESPACE).status.ready_replicas or 0) == 4,
               120, "the pool's 4 pods to be ready")  # fmt: skip
    return POOL


def _choose(page: Page, select_testid: str, option: str) -> None:
    """Pick `option` in an Ant Design Select (its options live in a pop-up outside the select)."""
    page.get_by_test_id(select_testid).click()
    page.locator(f".ant-select-dropdown:visible .ant-select-item-option[title='{option}']").click()


def _pods(kube: k8s.ApiClient) -> list[Any]:
    match = k8s.AppsV1Api(kube).read_namespaced_deployment(POOL, NAMESPACE).spec.selector.match_labels
    selector = ",".join(f"{k}={v}" for k, v in match.items())
    return list(k8s.CoreV1Api(kube).list_namespaced_pod(NAMESPACE, label_selector=selector).items)


def test_businesses_move_distribute_and_a_refused_scale_down(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str, pool: str,
    kube: k8s.ApiClient,
) -> None:  # fmt: skip
    page = signed_in(people["operator"])
    page.goto(f"/c/{sim_cluster}/services")
    for business in ("prod", "test"):
        _choose(page, "service-pool", f"{NAMESPACE}/{pool}")
        page.get_by_test_id("service-business").fill(business)
        page.get_by_test_id("service-create-submit").click()
        expect(page.get_by_test_id("op-status").last).to_have_attribute(
            "data-status", "succeeded", timeout=60_000
        )
    expect(page.get_by_test_id("services-table").get_by_text("prod").first).to_be_visible()
    check_accessibility(page, "services")
    screenshot(page, "services")

    page.goto(f"/c/{sim_cluster}/models/{NAMESPACE}/{pool}")
    expect(page.get_by_test_id("replicas-ready")).to_have_text("4/4")
    first = sorted(p.metadata.name for p in _pods(kube))[0]
    _choose(page, f"business-select-{first}", "prod")
    expect(page.get_by_test_id("share-bar-prod")).to_have_attribute("data-pods", "1", timeout=60_000)
    expect(page.get_by_test_id(f"business-select-{first}")).to_contain_text("prod")

    page.get_by_test_id("distribute-ratios").fill("prod:3,test:1")
    page.get_by_test_id("distribute-ratios").press("Enter")
    plan = page.get_by_test_id("distribute-plan")
    expect(plan).to_be_visible()
    assert int(plan.get_attribute("data-moves") or "0") == 3  # two more to prod, one to test
    page.get_by_test_id("distribute-apply").click()
    expect(page.get_by_test_id("share-bar-prod")).to_have_attribute("data-pods", "3", timeout=60_000)
    expect(page.get_by_test_id("share-bar-test")).to_have_attribute("data-pods", "1", timeout=60_000)
    check_accessibility(page, "pool")
    screenshot(page, "model-pool")

    # Every pod serves a business: scaling down would have to take one, so the pool refuses.
    page.get_by_test_id("scale-replicas").fill("2")
    page.get_by_test_id("scale-submit").click()
    scaled = page.get_by_test_id("live-operation").last
    expect(scaled.get_by_test_id("op-status")).to_have_attribute("data-status", "failed", timeout=60_000)
    expect(scaled.get_by_role("alert")).to_contain_text("unassigned pods")
    assert len(_pods(kube)) == 4
