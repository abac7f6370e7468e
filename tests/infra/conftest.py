"""Infrastructure tests: the whole pipeline (real Postgres, Redis, worker process, kubesim over HTTP)
plus emulated AWS (moto server + podium_awsemu) over HTTP, reached only through AWS_ENDPOINT_URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from integration.serving_helpers import watcher  # noqa: F401  (the real watcher in a thread)
from podium_awsemu.runner import RunningEmulator
from worker.fixtures import *  # noqa: F403  (pipeline, kubesim, sim_cluster, submit, …)
from worker.fixtures import Pipeline, WorkerProcess

from infra.helpers import (
    ACCESS_KEY,
    AWS_CLUSTER,
    EKS_NAME,
    EMULATOR_SPEED,
    HYPERPOD_NAME,
    REGION,
    SECRET_KEY,
    SEED,
    InfraApi,
    emulated_aws_env,
    register_aws_cluster,
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with RunningEmulator(speed=EMULATOR_SPEED, seed=SEED) as emu:
        yield emu


@pytest.fixture(scope="module")
def aws_env(emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    """The standard AWS variables pointing at the emulator, for this process and the worker it starts."""
    with emulated_aws_env(emulator.url, REGION, ACCESS_KEY, SECRET_KEY):
        yield emulator


class AwsWorker(WorkerProcess):
    """The worker with fast AWS polling (the emulator runs transitions EMULATOR_SPEED times faster)."""

    # It imports moto-free but boto3-heavy code; on a loaded machine the first heartbeat can take a while.
    ready_timeout = 120.0

    def env(self) -> dict[str, str]:
        return super().env() | {
            "PODIUM_AWS_POLL_INTERVAL_SECONDS": "0.05",
            "PODIUM_AWS_WAIT_TIMEOUT_SECONDS": "30",
            "PODIUM_AWS_MAX_ATTEMPTS": "3",
        }


@pytest.fixture(scope="module")
def worker(
    pipeline: Pipeline, sim_cluster: str, aws_env: RunningEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    proc = AwsWorker(pipeline.settings, tmp_path_factory.mktemp("worker") / "worker.log").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def aws_cluster(pipeline: Pipeline, sim_kubeconfig: Path) -> str:
    """A cluster reached through kubesim's kubeconfig whose AWS side is the emulated account."""
    return register_aws_cluster(
        pipeline, AWS_CLUSTER, sim_kubeconfig, eks_name=EKS_NAME, hyperpod_name=HYPERPOD_NAME, region=REGION
    )


@pytest.fixture(scope="module")
def infra_api(pipeline: Pipeline, aws_env: RunningEmulator, aws_cluster: str) -> Iterator[InfraApi]:
    with InfraApi.open(pipeline) as api:
        yield api


@pytest.fixture
def aws_faults(emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    """The emulator with no fault rules before and after the test."""
    emulator.clear_faults()
    yield emulator
    emulator.clear_faults()
