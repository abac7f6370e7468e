"""The infrastructure and storage pages against the real stack joined to emulated AWS: a node group scaled
from the console grows the cluster (kubesim's cloud controller follows the emulated node group, the
watcher streams the new node, the page shows it and the larger GPU total without a reload), the scale
dialog names a broken rule as it is typed, a viewer sees no mutating control, an S3 volume's prefixes are
browsed page by page and an object downloaded through its presigned URL, and both pages pass axe-core.

This module's fixtures replace the suite's plain kubesim and cluster: the emulator holds an EKS cluster
and a HyperPod cluster whose groups are the scenario's (podium_awsemu.local_account, as `podium up` does),
kubesim's cloud controller follows them, and the cluster is registered with its EKS and HyperPod names.
The API (in this process) and the worker reach the emulator only through AWS_ENDPOINT_URL."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from infra.helpers import emulated_aws_env, register_aws_cluster
from kubernetes import client as k8s
from playwright.sync_api import Page, expect
from podium_awsemu.local_account import scenario_seed
from podium_awsemu.runner import RunningEmulator
from podium_kubesim.controllers.cloud_source import CloudConfig
from podium_kubesim.runner import RunningKubeSim, start_kubesim
from podium_shared.kube.clients import reset_cache
from support.waiting import wait_until
from worker.fixtures import KUBESIM_SPEED, Pipeline, WorkerProcess

from e2e.conftest import check_accessibility, screenshot
from e2e.stack import Person
from e2e.test_console import cluster_gpus

# The first test also starts the emulator, kubesim, worker, API and Chromium (~100 s on a loaded 2-core
# machine) and each test waits out real AWS-like transitions: a bound, not a wait.
pytestmark = pytest.mark.timeout(600)

CLUSTER = "e2e-aws"
EKS_NAME = "e2e-eks"
HYPERPOD_NAME = "e2e-hyperpod"
REGION = "us-west-2"
GPU_GROUP = "gpu-a10g"
BUCKET = "podium-models"  # in every seed made from a scenario (the default seed's buckets)
# Slow enough that a node group stays UPDATING for ~5 s (10 s / 2), so the page can be seen showing it.
EMULATOR_SPEED = 2.0
SCENARIO = {
    "name": "e2e-infra",
    "region": REGION,
    "namespaces": ["podium"],
    "nodeGroups": [
        {"name": "system-cpu", "kind": "eks", "instanceType": "m5.2xlarge", "count": 1,
         "minSize": 1, "maxSize": 4},
        {"name": GPU_GROUP, "kind": "eks", "instanceType": "g5.12xlarge", "count": 1,
         "minSize": 0, "maxSize": 4},
        {"name": "inference-g5", "kind": "hyperpod", "instanceType": "ml.g5.12xlarge", "count": 1,
         "clusterName": HYPERPOD_NAME},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def scenario_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("infra") / "scenario.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    return path


@pytest.fixture(scope="module")
def emulator(scenario_path: Path) -> Iterator[RunningEmulator]:
    seed = scenario_seed(scenario_path, eks_cluster=EKS_NAME)
    with RunningEmulator(speed=EMULATOR_SPEED, seed=seed) as emu:
        yield emu


@pytest.fixture(scope="module")
def aws_env(emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    """The standard AWS variables pointing at the emulator, for the API in this process and the worker."""
    with emulated_aws_env(emulator.url, REGION, "emulated", "emulated"):
        yield emulator


@pytest.fixture(scope="module")
def kubesim(scenario_path: Path, emulator: RunningEmulator) -> Iterator[RunningKubeSim]:
    """kubesim whose nodes follow the emulated groups (a new node joins ~1 s after a scale-up)."""
    cloud = CloudConfig(
        eks_cluster=EKS_NAME, hyperpod_cluster=HYPERPOD_NAME, region=REGION, endpoint_url=emulator.url,
        poll_seconds=0.2, join_seconds=20.0,
    )  # fmt: skip
    with start_kubesim(scenario_path, speed=KUBESIM_SPEED, cloud=cloud) as running:
        yield running
    reset_cache()


@pytest.fixture(scope="module")
def sim_cluster(pipeline: Pipeline, sim_kubeconfig: Path) -> str:
    """The kubesim registered with its EKS and HyperPod names (kube access through its kubeconfig)."""
    return register_aws_cluster(
        pipeline, CLUSTER, sim_kubeconfig, eks_name=EKS_NAME, hyperpod_name=HYPERPOD_NAME, region=REGION
    )


class AwsWorker(WorkerProcess):
    ready_timeout = 120.0  # boto3-heavy imports on a loaded machine

    def env(self) -> dict[str, str]:
        # Poll AWS every 0.25 s during a transition: each poll is a progress event the page follows.
        aws = {"PODIUM_AWS_POLL_INTERVAL_SECONDS": "0.25", "PODIUM_AWS_WAIT_TIMEOUT_SECONDS": "60"}
        return {**super().env(), **aws}


@pytest.fixture(scope="module")
def worker(
    pipeline: Pipeline, sim_cluster: str, aws_env: RunningEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    proc = AwsWorker(pipeline.settings, tmp_path_factory.mktemp("worker") / "worker.log").start()
    yield proc
    proc.stop()


def _volume(name: str, bucket: str) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": "1200Gi"},
            "accessModes": ["ReadWriteMany"],
            "mountOptions": ["region us-west-2"],
            "claimRef": {"namespace": "podium", "name": f"{name}-claim"},
            "csi": {
                "driver": "s3.csi.aws.com",
                "volumeHandle": name,
                "volumeAttributes": {"bucketName": bucket},
            },
        },
    }


@pytest.fixture(scope="module")
def volume(aws_env: RunningEmulator, kube: k8s.ApiClient) -> str:
    """An S3 CSI volume over the seeded bucket, with 150 more objects under `p000/` (two pages of 100)."""
    r = aws_env.admin.post("/_emu/s3/fill", json={"bucket": BUCKET, "keys": 150, "prefixes": 1})
    r.raise_for_status()
    k8s.CoreV1Api(kube).create_persistent_volume(_volume("s3-models", BUCKET))
    return "s3-models"


def _gpu_group_nodes(kube: k8s.ApiClient) -> int:
    nodes = k8s.CoreV1Api(kube).list_node(label_selector=f"eks.amazonaws.com/nodegroup={GPU_GROUP}").items
    return len(nodes)


def test_scaling_a_node_group_grows_the_node_count_and_gpu_total_live(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str, kube: k8s.ApiClient
) -> None:
    page = signed_in(people["operator"])
    page.goto(f"/c/{sim_cluster}/infrastructure")
    nodes = page.get_by_test_id(f"ng-nodes-{GPU_GROUP}")
    totals = page.get_by_test_id("infra-totals")
    expect(nodes).to_have_attribute("data-nodes", "1")
    expect(page.get_by_test_id(f"ng-status-{GPU_GROUP}")).to_have_attribute("data-status", "ACTIVE")
    before = cluster_gpus(kube)["capacity"]
    assert before >= 8  # a g5.12xlarge node group node and a HyperPod ml.g5.12xlarge: 4 GPUs each
    expect(totals).to_have_attribute("data-gpu-capacity", str(before))
    expect(page.get_by_test_id("ig-count-inference-g5")).to_have_text("1 / 1")
    check_accessibility(page, "infrastructure")
    screenshot(page, "infrastructure")

    page.get_by_test_id(f"ng-scale-{GPU_GROUP}").click()
    # Each rule is named as it is broken, and the command cannot be sent meanwhile.
    page.get_by_test_id("ng-scale-desired").fill("9")
    expect(page.get_by_test_id("ng-scale-error")).to_contain_text(
        "desired must lie between min and max (min 0 <= desired 9 <= max 4 does not hold)"
    )
    expect(page.get_by_test_id("ng-scale-submit")).to_be_disabled()
    page.get_by_test_id("ng-scale-max").fill("0")
    expect(page.get_by_test_id("ng-scale-error")).to_contain_text("max must be at least 1 (got 0)")
    page.get_by_test_id("ng-scale-max").fill("4")
    page.get_by_test_id("ng-scale-desired").fill("2")
    expect(page.get_by_test_id("ng-scale-error")).to_have_count(0)
    check_accessibility(page, "scale dialog")
    screenshot(page, "infrastructure-scale")
    page.get_by_test_id("ng-scale-submit").click()

    # The transition is shown while it happens (no reload, no timer): UPDATING, then ACTIVE.
    status = page.get_by_test_id(f"ng-status-{GPU_GROUP}")
    expect(status).to_have_attribute("data-status", "UPDATING")
    expect(page.get_by_test_id(f"ng-sizes-{GPU_GROUP}")).to_have_text("0 / 4 / 2")
    expect(page.get_by_test_id("op-status")).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(status).to_have_attribute("data-status", "ACTIVE")
    # kubesim gained the node; the page shows it and the GPU total that grew with it.
    wait_until(lambda: _gpu_group_nodes(kube) == 2, 60, "kubesim to add the gpu group's second node")
    expect(nodes).to_have_attribute("data-nodes", "2", timeout=30_000)
    after = cluster_gpus(kube)["capacity"]
    assert after == before + 4
    expect(totals).to_have_attribute("data-gpu-capacity", str(after), timeout=30_000)
    expect(page.get_by_test_id(f"ng-gpus-{GPU_GROUP}")).to_have_attribute("data-gpus", "8")


def test_create_a_node_group_with_the_wizard_then_delete_it_by_name(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str, kube: k8s.ApiClient
) -> None:
    name = "e2e-new"
    page = signed_in(people["operator"])
    page.goto(f"/c/{sim_cluster}/infrastructure")
    page.get_by_test_id("ng-create").click()
    page.get_by_test_id("ng-create-name").fill(name)
    page.get_by_test_id("ng-create-types").fill("g5.2xlarge")
    page.get_by_test_id("ng-create-next").click()
    # Scaling: the rules are checked as typed here too.
    page.get_by_test_id("ng-create-desired").fill("3")
    expect(page.get_by_test_id("ng-create-error")).to_contain_text("desired must lie between min and max")
    expect(page.get_by_test_id("ng-create-next")).to_be_disabled()
    page.get_by_test_id("ng-create-desired").fill("1")
    page.get_by_test_id("ng-create-next").click()
    page.get_by_role("button", name="Add label").click()
    page.get_by_label("Label 1 key").fill("team")
    page.get_by_label("Label 1 value").fill("ml")
    page.get_by_test_id("ng-create-next").click()
    review = page.get_by_test_id("ng-create-review")
    expect(review).to_contain_text("g5.2xlarge")
    expect(review).to_contain_text("team=ml")
    check_accessibility(page, "create node group review")
    page.get_by_test_id("ng-create-submit").click()

    # CREATING while AWS creates it, then ACTIVE with its node, on the open page.
    status = page.get_by_test_id(f"ng-status-{name}")
    expect(status).to_have_attribute("data-status", "CREATING")
    expect(status).to_have_attribute("data-status", "ACTIVE", timeout=60_000)
    expect(page.get_by_test_id(f"ng-nodes-{name}")).to_have_attribute("data-nodes", "1", timeout=30_000)
    labelled = k8s.CoreV1Api(kube).list_node(label_selector=f"eks.amazonaws.com/nodegroup={name},team=ml")
    assert len(labelled.items) == 1

    page.get_by_test_id(f"ng-delete-{name}").click()
    submit = page.get_by_test_id("ng-delete-submit")
    expect(submit).to_be_disabled()
    page.get_by_test_id("ng-delete-confirm").fill(name[:-1])
    expect(submit).to_be_disabled()
    page.get_by_test_id("ng-delete-confirm").fill(name)
    submit.click()
    expect(status).to_have_attribute("data-status", "DELETING")
    expect(page.get_by_test_id(f"row-ng-{name}")).to_have_count(0, timeout=60_000)
    nodes = k8s.CoreV1Api(kube)
    wait_until(
        lambda: not nodes.list_node(label_selector=f"eks.amazonaws.com/nodegroup={name}").items,
        60,
        "the deleted group's node to go",
    )


def test_a_viewer_sees_the_groups_but_no_mutating_control(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str
) -> None:
    page = signed_in(people["viewer"])
    page.goto(f"/c/{sim_cluster}/infrastructure")
    expect(page.get_by_test_id(f"row-ng-{GPU_GROUP}")).to_be_visible()
    expect(page.get_by_test_id("row-ig-inference-g5")).to_be_visible()
    group_controls = (f"ng-scale-{GPU_GROUP}", f"ng-delete-{GPU_GROUP}", "ig-scale-inference-g5")
    for testid in ("ng-create", "ig-add", *group_controls):
        expect(page.get_by_test_id(testid)).to_have_count(0)


def test_browse_a_prefix_page_by_page_and_download(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str, volume: str
) -> None:
    page = signed_in(people["viewer"])
    # The watcher mirrors the new PersistentVolume into the snapshot; the page reads the snapshot once.
    wait_until(
        lambda: volume in page.request.get(f"/api/v1/clusters/{sim_cluster}/storage").text(),
        30,
        "the volume in the snapshot",
    )
    page.goto(f"/c/{sim_cluster}/storage")
    expect(page.get_by_test_id("storage-volume")).to_contain_text(BUCKET)
    table = page.get_by_test_id("objects-table")
    expect(page.get_by_test_id("folder-models/")).to_be_visible()
    expect(page.get_by_test_id("object-README.txt")).to_be_visible()
    check_accessibility(page, "storage")

    # A folder and its breadcrumb; the query string keeps where we are.
    page.get_by_test_id("folder-models/").click()
    expect(page).to_have_url(re.compile(r"prefix=models%2F"))
    expect(page.get_by_test_id("crumb-models")).to_be_visible()
    expect(page.get_by_test_id("folder-models/qwen3-0.6b/")).to_be_visible()
    page.get_by_test_id("crumb-root").click()

    # 150 objects under p000/: a page of 100, then the rest on "Load more" (a long list is virtualised,
    # so the counts are read from the table's row count and the last object found with its filter).
    page.get_by_test_id("folder-p000/").click()
    count = table.get_by_test_id("row-count")
    expect(count).to_have_text("100 of 100 rows")
    pages = page.get_by_test_id("objects-pages")
    expect(pages).to_have_attribute("data-more", "true")
    screenshot(page, "storage")
    page.get_by_test_id("objects-more").click()
    expect(count).to_have_text("150 of 150 rows")
    expect(pages).to_have_attribute("data-more", "false")
    expect(pages).to_have_attribute("data-pages", "2")
    table.get_by_label("Filter rows").fill("0000149")
    expect(count).to_have_text("1 of 150 rows")
    expect(page.get_by_test_id("object-p000/0000149.bin")).to_be_visible()
    check_accessibility(page, "storage folder")

    # Download asks the API for a presigned URL and opens it: a signed, short-lived S3 GET of the object.
    key = "p000/0000149.bin"
    with page.context.expect_event("request", lambda r: f"/{BUCKET}/{key}" in r.url) as opened:
        page.get_by_test_id(f"download-{key}").click()
    url = opened.value.url
    assert "X-Amz-Signature=" in url
    assert "X-Amz-Expires=" in url
    assert httpx.get(url, timeout=30).content == b"x"
