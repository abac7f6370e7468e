"""The training pages against the real stack with a real MLflow tracking server: a job submitted from the
form whose live log and loss chart grow while the page is open (and whose MLflow run shows up in the
history), a download from the form reaching 100 %, the history table with the runs' own tag columns,
colours, a run appearing live, delete, a run's page and compare; viewers see no mutating control; axe-core
on every new page. One module: the stack (kubesim, worker, watcher with the log collector and the MLflow
poller, API) starts once."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from history.helpers import make_run
from mlflow import MlflowClient
from playwright.sync_api import Page, expect
from podium_kubesim.runner import RunningKubeSim, start_kubesim
from podium_kubesim.scenario import scenario_path
from podium_shared.embedded import EmbeddedMlflow
from podium_shared.kube.clients import reset_cache
from worker.fixtures import KUBESIM_SPEED, MlflowWorker, Pipeline, WorkerProcess

from e2e.conftest import check_accessibility, screenshot
from e2e.stack import Person

# The stack with an MLflow server takes minutes to start on a loaded 2-core machine (as in tests/history).
pytestmark = pytest.mark.timeout(900)

# Training pods step slowly enough (simulated 6 s a step at speed 20: 0.3 s) for the chart to be seen
# growing; a download Job runs long enough for its progress to pass through several values.
STEP_ENV = "KUBESIM_STEP_SECONDS=6"
LONG_TAG = "a_very_long_custom_tag_name_that_wraps"


@pytest.fixture(scope="module")
def pipeline(pipeline: Pipeline, mlflow_server: EmbeddedMlflow) -> Pipeline:
    """The module's pipeline with the global tracking URI set, so the API reads the history from the test's
    MLflow server and the watcher (in-process, from these settings) polls it for the `training_runs` topic."""
    settings = pipeline.settings.model_copy(
        update={"mlflow_tracking_uri": mlflow_server.url, "mlflow_watch_interval_seconds": 0.5}
    )
    return Pipeline(settings, pipeline.sessions, pipeline.redis)


@pytest.fixture(scope="module")
def worker(
    pipeline: Pipeline,
    sim_cluster: str,
    mlflow_server: EmbeddedMlflow,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerProcess]:
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    proc = MlflowWorker(pipeline.settings, log, mlflow_server.url).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def kubesim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningKubeSim]:
    scenario = yaml.safe_load(scenario_path(None).read_text())
    scenario.setdefault("timings", {})["jobRunSeconds"] = 40
    path: Path = tmp_path_factory.mktemp("scenario") / "training.yaml"
    path.write_text(yaml.safe_dump(scenario))
    with start_kubesim(scenario=path, speed=KUBESIM_SPEED) as running:
        yield running
    reset_cache()


@pytest.fixture(scope="module")
def mlflow(mlflow_server: EmbeddedMlflow) -> MlflowClient:
    return MlflowClient(tracking_uri=mlflow_server.url)


def _choose(page: Page, select_testid: str, option: str) -> None:
    """Pick `option` in an Ant Design Select (its options live in a pop-up outside the select)."""
    page.get_by_test_id(select_testid).click()
    page.locator(f".ant-select-dropdown:visible .ant-select-item-option[title='{option}']").click()


def _points(page: Page, testid: str) -> int:
    return int(page.get_by_test_id(testid).get_attribute("data-points") or "0")


def test_submit_a_job_from_the_form_and_watch_its_logs_and_loss_chart_grow(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str
) -> None:
    name = f"e2e-sft-{uuid.uuid4().hex[:6]}"
    experiment = f"e2e-console-{uuid.uuid4().hex[:6]}"
    page = signed_in(people["operator"])
    page.goto(f"/c/{sim_cluster}/training")
    expect(page.get_by_test_id("training-table")).to_be_visible()
    page.get_by_role("tab", name="Submit a job").click()
    form = page.get_by_test_id("train-form")
    expect(form).to_be_visible()
    # The LLaMA-Factory defaults are filled in; the DeepSpeed picker offers the named configs.
    expect(page.get_by_label("Gradient accumulation")).to_have_value("8")
    page.get_by_test_id("train-name").fill(name)
    page.get_by_test_id("train-model").fill("Qwen/Qwen2.5-0.5B-Instruct")
    page.get_by_test_id("train-dataset").fill("alpaca_en_demo")
    _choose(page, "train-deepspeed", "ZeRO-2")
    page.get_by_test_id("train-max-steps").fill("60")
    page.get_by_test_id("train-logging-steps").fill("3")
    page.get_by_test_id("train-env").fill(STEP_ENV)
    page.get_by_test_id("train-hf-token").fill("hf_e2e_token_0123")
    expect(page.get_by_test_id("train-hf-token")).to_have_attribute("type", "password")
    page.get_by_test_id("train-mlflow-experiment").fill(experiment)
    page.get_by_test_id("train-mlflow-run").fill(f"{name}-run")
    check_accessibility(page, "training submit form")
    screenshot(page, "training-submit")
    page.get_by_test_id("train-submit").click()
    expect(page.get_by_test_id("op-status")).to_have_attribute("data-status", "succeeded", timeout=60_000)

    page.get_by_test_id("train-job-link").click()
    expect(page.get_by_test_id("job-summary")).to_contain_text("Qwen/Qwen2.5-0.5B-Instruct")
    expect(page.get_by_test_id("job-summary")).to_contain_text("z2")
    # Lines arrive over the `logs` topic while the job runs, and the loss chart gains points as they do.
    lines = page.get_by_test_id("log-lines")
    expect(lines).to_have_attribute("data-count", re.compile(r"^[1-9]"), timeout=60_000)
    expect(page.get_by_test_id("chart-loss")).to_have_attribute(
        "data-points", re.compile(r"^[1-9]"), timeout=60_000
    )
    first = _points(page, "chart-loss")
    first_lines = int(lines.get_attribute("data-count") or "0")
    expect(page.get_by_test_id("chart-loss")).not_to_have_attribute("data-points", str(first), timeout=60_000)
    assert _points(page, "chart-loss") > first
    assert int(lines.get_attribute("data-count") or "0") > first_lines
    expect(page.get_by_test_id("chart-lr")).to_have_attribute("data-points", re.compile(r"^[1-9]"))
    expect(page.get_by_test_id("job-status").first).to_have_attribute(
        "data-status", "Succeeded", timeout=90_000
    )
    # 60 steps logged every 3: the chart ends with all twenty loss points, and throughput was derived.
    expect(page.get_by_test_id("chart-loss")).to_have_attribute("data-points", "20", timeout=30_000)
    expect(page.get_by_test_id("chart-throughput")).to_have_attribute("data-points", re.compile(r"^[1-9]"))
    expect(page.get_by_test_id("train-summary")).to_contain_text("train_samples_per_second")
    # Search narrows what the tab holds; the whole log is a download.
    page.get_by_test_id("log-search").fill("Training completed")
    expect(lines).to_have_attribute("data-count", "1")
    href = page.get_by_test_id("log-download").get_attribute("href")
    assert href == f"/api/v1/clusters/{sim_cluster}/trainingjobs/default/{name}/logs/download"
    check_accessibility(page, "training job")
    screenshot(page, "training-job")

    page.goto(f"/c/{sim_cluster}/training")
    row = page.get_by_test_id(f"row-default/{name}")
    expect(row).to_contain_text("Succeeded")
    expect(row).to_contain_text("alpaca_en_demo")
    check_accessibility(page, "training jobs")
    screenshot(page, "training")

    # kubesim's pod logged the run to MLflow as LLaMA-Factory's callback does: it is in the history.
    page.goto(f"/training/history?experiment={experiment}")
    run_row = page.get_by_test_id("history-table").locator("[data-row-key]")
    expect(run_row).to_have_count(1, timeout=30_000)
    expect(run_row).to_contain_text(f"{name}-run")
    run_row.get_by_role("link").click()
    expect(page.get_by_test_id("run-job-link")).to_have_attribute(
        "href", f"/c/{sim_cluster}/training/default/{name}", timeout=30_000
    )

    # Delete after typing the name; the kept log stays readable.
    page.goto(f"/c/{sim_cluster}/training/default/{name}")
    page.get_by_test_id("job-delete-confirm").fill(name)
    page.get_by_test_id("job-delete-submit").click()
    expect(page.get_by_test_id("op-status")).to_have_attribute("data-status", "succeeded", timeout=60_000)
    page.goto(f"/c/{sim_cluster}/training")
    expect(page.get_by_test_id(f"row-default/{name}")).to_have_count(0, timeout=30_000)


def test_a_download_from_the_form_reaches_100_percent(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str
) -> None:
    page = signed_in(people["operator"])
    page.goto(f"/c/{sim_cluster}/downloads")
    page.get_by_test_id("download-model").fill("Qwen/Qwen3-0.6B")
    page.get_by_test_id("download-revision").fill("main")
    check_accessibility(page, "downloads")
    page.get_by_test_id("download-submit").click()
    accepted = page.get_by_test_id("live-operation")
    expect(accepted).to_be_visible()
    table = page.get_by_test_id("downloads-table")
    row = table.locator("[data-row-key]").filter(has_text="Qwen/Qwen3-0.6B").first
    expect(row).to_be_visible(timeout=30_000)
    # The list follows the download's progress live (operation and Job changes), without a reload.
    expect(row.get_by_test_id("download-progress")).to_have_attribute("data-percent", "100", timeout=90_000)
    expect(row.get_by_test_id("download-status")).to_have_attribute(
        "data-status", "Succeeded", timeout=30_000
    )
    expect(page.get_by_test_id("op-status")).to_have_attribute("data-status", "succeeded")
    screenshot(page, "downloads")


def _cell_tone(page: Page, run_id: str, testid: str) -> str | None:
    return page.get_by_test_id(f"row-{run_id}").get_by_test_id(testid).get_attribute("data-tone")


def test_history_table_columns_colours_live_runs_delete_and_compare(
    signed_in: Callable[[Person], Page], people: dict[str, Person], mlflow: MlflowClient
) -> None:
    name = f"e2e-history-{uuid.uuid4().hex[:6]}"
    eid = mlflow.create_experiment(name)
    steps = {"loss": [2.5, 2.1, 1.8, 1.6], "learning_rate": [5e-5, 4e-5, 3e-5, 2e-5]}
    fast = make_run(
        mlflow, eid, name="g5-fast",
        tags={"team": "search", "instance_type": "ml.g5.12xlarge", "replica_count": "4", "model": "qwen",
              "dataset": "alpaca"},
        history=steps, final={"train_samples_per_second": 2.5, "train_steps_per_second": 0.6},
    )  # fmt: skip
    mid = make_run(
        mlflow, eid, name="p4d-mid",
        tags={"instance_type": "ml.p4d.24xlarge", "replica_count": "2", "model": "llama"},
        history={"loss": [2.7, 2.4, 2.2]}, final={"train_samples_per_second": 1.2},
    )  # fmt: skip
    slow = make_run(
        mlflow, eid, name="p3-slow",
        tags={"instance_type": "ml.p3.2xlarge", "replica_count": "1", LONG_TAG: "x"},
        final={"train_samples_per_second": 0.3},
    )  # fmt: skip

    page = signed_in(people["operator"])
    page.goto(f"/training/history?experiment={name}")
    table = page.get_by_test_id("history-table")
    expect(table.locator("[data-row-key]")).to_have_count(3)
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts() if h.strip()]
    # The tag columns come in the API's order: the known keys first, then the rest alphabetically.
    assert headers == [
        "Select",
        "Experiment", "Run Name", "Status", "model", "dataset", "instance_type", "replica_count",
        LONG_TAG, "team", "Samples/s", "Steps/s", "Start Time", "Duration", "Actions",
    ], headers  # fmt: skip
    long_header = table.locator("thead th").filter(has_text=LONG_TAG)
    assert long_header.evaluate("el => getComputedStyle(el).whiteSpace") == "normal"
    assert [_cell_tone(page, fast, "cell-instance_type"), _cell_tone(page, mid, "cell-instance_type"),
            _cell_tone(page, slow, "cell-instance_type")] == ["ok", "info", "warn"]  # fmt: skip
    assert [_cell_tone(page, fast, "cell-replica_count"), _cell_tone(page, mid, "cell-replica_count"),
            _cell_tone(page, slow, "cell-replica_count")] == ["bad", "warn", "ok"]  # fmt: skip
    assert [_cell_tone(page, fast, "cell-samples"), _cell_tone(page, mid, "cell-samples"),
            _cell_tone(page, slow, "cell-samples")] == ["ok", "warn", "bad"]  # fmt: skip
    green = page.get_by_test_id(f"row-{fast}").get_by_test_id("cell-instance_type")
    assert green.evaluate("el => getComputedStyle(el).color") == "rgb(29, 94, 10)"
    # A tooltip says what the colours mean.
    green.hover()
    expect(page.get_by_role("tooltip")).to_contain_text("ml.g5.* green")
    page.mouse.move(0, 0)
    check_accessibility(page, "training history")
    screenshot(page, "training-history")

    # The column chooser hides a tag column.
    _choose(page, "history-columns", "team")  # shown: choosing it again hides it
    page.keyboard.press("Escape")
    expect(table.locator("thead th").filter(has_text=re.compile(r"^team$"))).to_have_count(0)

    # A run started while the page is open appears without a reload (the `training_runs` topic).
    page.evaluate("window.__podiumNoReload = true")
    fresh = make_run(mlflow, eid, name="arrives-live", tags={"instance_type": "ml.g5.2xlarge"}, status=None)
    expect(page.get_by_test_id(f"row-{fresh}")).to_be_visible(timeout=30_000)
    assert page.evaluate("window.__podiumNoReload") is True

    # Delete behind a confirmation: the row goes, and MLflow marks the run deleted.
    page.get_by_test_id(f"run-delete-{slow}").click()
    page.get_by_test_id(f"run-delete-ok-{slow}").click()
    expect(page.get_by_test_id(f"row-{slow}")).to_have_count(0, timeout=60_000)
    assert mlflow.get_run(slow).info.lifecycle_stage == "deleted"

    # Select two runs and compare them on one chart.
    page.get_by_label(f"Select {fast}").check()
    page.get_by_label(f"Select {mid}").check()
    page.get_by_test_id("history-compare").click()
    expect(page).to_have_url(re.compile(r"/training/compare\?runs="))
    expect(page.get_by_test_id("compare-chart")).to_have_attribute("data-points", "7")
    check_accessibility(page, "compare")
    screenshot(page, "training-compare")

    page.goto(f"/training/history/{fast}")
    expect(page.get_by_test_id("run-summary")).to_contain_text(name)
    expect(page.get_by_test_id("run-chart-loss")).to_have_attribute("data-points", "4")
    expect(page.get_by_test_id("run-tags")).to_contain_text("ml.g5.12xlarge")
    check_accessibility(page, "training run")
    screenshot(page, "training-run")


def test_a_viewer_sees_no_mutating_control_on_the_training_pages(
    signed_in: Callable[[Person], Page], people: dict[str, Person], sim_cluster: str, mlflow: MlflowClient
) -> None:
    name = f"e2e-viewer-{uuid.uuid4().hex[:6]}"
    run_id = make_run(mlflow, mlflow.create_experiment(name), name="seen")
    page = signed_in(people["viewer"])
    page.goto(f"/c/{sim_cluster}/training")
    expect(page.get_by_test_id("training-table")).to_be_visible()
    expect(page.get_by_role("tab", name="Submit a job")).to_have_count(0)
    page.goto(f"/c/{sim_cluster}/downloads")
    expect(page.get_by_test_id("downloads-table")).to_be_visible()
    expect(page.get_by_test_id("download-form")).to_have_count(0)
    page.goto(f"/training/history?experiment={name}")
    expect(page.get_by_test_id(f"row-{run_id}")).to_be_visible()
    expect(page.get_by_test_id(f"run-delete-{run_id}")).to_have_count(0)
    page.goto(f"/training/history/{run_id}")
    expect(page.get_by_test_id("run-summary")).to_be_visible()
    expect(page.get_by_test_id(f"run-delete-{run_id}")).to_have_count(0)
    # A job page the viewer opens (one that does not exist) shows the API's own message.
    page.goto(f"/c/{sim_cluster}/training/default/no-such-job")
    expect(page.get_by_test_id("error-message")).not_to_be_empty()
    expect(page.get_by_test_id("job-delete-submit")).to_have_count(0)
