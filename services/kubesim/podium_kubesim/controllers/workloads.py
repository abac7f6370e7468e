"""What runs inside a simulated container: start-up logs, training loops, run-to-completion jobs.

One asyncio task per started pod writes the container logs at a speed-scaled pace; for run-to-completion
pods (restartPolicy Never/OnFailure) the task ends the pod through `Kubelet.finish`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import TYPE_CHECKING, Any

from podium_kubesim import engines
from podium_kubesim.controllers.base import wait_unpaused
from podium_kubesim.controllers.podutil import Obj, annotations_of, labels_of, meta, run_to_completion
from podium_kubesim.errors import ApiError
from podium_kubesim.expansion import container_argv, container_env
from podium_kubesim.mlflow_run import MlflowRun, training_params
from podium_kubesim.training import (
    Failure,
    failure_from,
    failure_lines,
    progress_bar,
    replace_steps,
    run_from,
    run_lines,
)

if TYPE_CHECKING:
    from podium_kubesim.controllers.kubelet import Kubelet, PodRun

log = logging.getLogger("podium_kubesim.kubelet")
ANN = "kubesim.podium.dev/"
TRAINING_LABELS = ("training.kubeflow.org/job-name", "sagemaker.amazonaws.com/job-name")


def _env(container: Obj) -> dict[str, str]:
    return container_env(container)


def _number(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def is_training(pod: Obj) -> bool:
    labels = labels_of(pod)
    return (
        any(k in labels for k in TRAINING_LABELS)
        or str(annotations_of(pod).get(ANN + "training", "")).lower() == "true"
    )


def rank_of(pod: Obj) -> int:
    labels = labels_of(pod)
    rtype = labels.get("training.kubeflow.org/replica-type", "")
    index = int(_number(labels.get("training.kubeflow.org/replica-index"), 0))
    for c in (pod.get("spec") or {}).get("containers") or []:
        env = _env(c)
        if "RANK" in env:
            return int(_number(env["RANK"], 0))
    if rtype in ("master", "Master", ""):
        return index
    return index + 1  # kubeflow numbers workers after the master


class WorkloadRunner:
    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet
        self.sim = kubelet.sim
        self.settings = kubelet.settings

    def start(self, pod: Obj, key: tuple[str, str], run: PodRun) -> float:
        """Spawn the pod's log/run task; return the simulated seconds its start-up logs take."""
        containers = list((pod.get("spec") or {}).get("containers") or [])
        pace = self.settings.timings.log_line_seconds
        engine = engines.detect(pod)
        if run_to_completion(pod):
            coro = self._train(pod, key) if is_training(pod) else self._job(pod, key, containers)
            run.tasks.append(asyncio.create_task(coro, name=f"kubesim-run-{key[0]}/{key[1]}"))
            return 0.0
        longest = 0.0
        for c in containers:
            lines = engines.startup_lines(
                engine
                if engines._kind_of(c) != engines.GENERIC
                else engines.Engine(engines.GENERIC, "", "", 80),
                c,
            )
            run.starting_writers += 1
            run.tasks.append(asyncio.create_task(self._write(key, str(c.get("name")), lines, pace, run)))
            longest = max(longest, pace * len(lines))
        return longest

    async def _paused(self) -> None:
        await wait_unpaused(self.sim)

    async def _write(
        self, key: tuple[str, str], container: str, lines: list[str], pace: float, run: PodRun
    ) -> None:
        for i, line in enumerate(lines):
            if i:
                await self.sim.clock.sleep(pace)
            await self._paused()
            self.sim.logs.append(key[0], key[1], container, line)
        self.kubelet.startup_written(key, run)

    def _exit_code(self, pod: Obj, key: tuple[str, str]) -> int:
        faults = self.settings.faults
        failing = str(annotations_of(pod).get(ANN + "fail", "")).lower() == "true" or faults.matches(
            faults.fail_pods, key[0], key[1]
        )
        return 1 if failing else 0

    async def _finish(self, key: tuple[str, str], code: int, message: str | None = None) -> None:
        await self._paused()
        with contextlib.suppress(ApiError):
            self.kubelet.finish(key, code, message)

    async def _job(self, pod: Obj, key: tuple[str, str], containers: list[Obj]) -> None:
        name = str(containers[0].get("name")) if containers else "main"
        seconds = _number(annotations_of(pod).get(ANN + "run-seconds"), self.settings.timings.job_run_seconds)
        download = hf_download(containers[0]) if containers else None
        if download is not None:
            code = self._exit_code(pod, key)
            await self._download(key, name, download, seconds, fail=bool(code))
            await self._finish(key, code, "simulated download failure" if code else None)
            return
        engine = engines.Engine(engines.GENERIC, "", "", 80)
        for c in containers:
            for line in (
                engines.startup_lines(engine, c)[:-1] if not _echo(c) else engines.startup_lines(engine, c)
            ):
                self.sim.logs.append(key[0], key[1], str(c.get("name")), line)
        await self.sim.clock.sleep(seconds)
        code = self._exit_code(pod, key)
        self.sim.logs.append(
            key[0], key[1], name, "done" if code == 0 else "Error: simulated failure; exiting 1"
        )
        await self._finish(key, code)

    async def _download(
        self, key: tuple[str, str], container: str, download: tuple[str, str], seconds: float, *, fail: bool
    ) -> None:
        """huggingface_hub progress (`Fetching 10 files:  30%|███       | 3/10 [...]`), then the path; a
        failing download stops at 30 % with the error huggingface_hub raises for a refused token."""
        model, local = download
        files = 10
        logs = self.sim.logs
        logs.append(key[0], key[1], container, f"Downloading '{model}' to '{local}'")
        for done in range(files + 1):
            bar = progress_bar(done, files, done * seconds / files)
            logs.append(key[0], key[1], container, f"Fetching {files} files: {bar}")
            if fail and done == 3:
                logs.append(
                    key[0], key[1], container,
                    f"huggingface_hub.errors.GatedRepoError: 401 Client Error. Cannot access gated repo "
                    f"for url https://huggingface.co/{model}/resolve/main/model.safetensors.",
                )  # fmt: skip
                return
            if done < files:
                await self.sim.clock.sleep(seconds / files)
                await wait_unpaused(self.sim)
        logs.append(key[0], key[1], container, local)

    async def _train(self, pod: Obj, key: tuple[str, str]) -> None:
        containers = list((pod.get("spec") or {}).get("containers") or [])
        c = containers[0] if containers else {}
        container = str(c.get("name") or "pytorch")
        env = _env(c)
        ann = annotations_of(pod)
        t = self.settings.timings
        argv = container_argv(c)
        job = labels_of(pod).get("training.kubeflow.org/job-name") or meta(pod).get("name") or "train"
        world = int(_number(env.get("WORLD_SIZE"), 1))
        run = run_from(argv, env, default_steps=t.train_steps, seed=str(job), world_size=world)
        steps = ann.get(ANN + "train-steps")
        if steps is not None:
            run = replace_steps(run, int(_number(steps, run.steps)))
        step_seconds = _number(ann.get(ANN + "step-seconds", env.get("KUBESIM_STEP_SECONDS")), t.step_seconds)
        failure = failure_from(env, ann.get(ANN + "fail-reason"), run.steps)
        if failure is None and self._exit_code(pod, key):
            failure = Failure("simulated failure (kubesim.podium.dev/fail)", run.steps)
        rank = rank_of(pod)
        logs = self.sim.logs
        loop = asyncio.get_running_loop()
        start = loop.time()
        # LLaMA-Factory's MLflow reporting, when the pod's env asks for it (rank 0 only, like the Trainer).
        mlflow = MlflowRun.from_env(env, str(job)) if rank == 0 else None
        if mlflow is not None:
            await mlflow.start(training_params(run))
        # The generator computes a step's lines when asked for them, so the time is kept before asking.
        for step, lines in run_lines(run, rank=rank, world=world):
            for line in lines:
                logs.append(key[0], key[1], container, line)
            if mlflow is not None:
                await mlflow.lines(min(step, run.steps), lines)  # the summary record belongs to the last step
            if failure is not None and failure.at_step <= step <= run.steps:
                for line in failure_lines(failure, rank):
                    logs.append(key[0], key[1], container, line)
                if mlflow is not None:
                    await mlflow.end(1)
                await self._finish(key, 1, failure.reason)
                return
            if step < run.steps:
                await self.sim.clock.sleep(step_seconds)
                await self._paused()
                run.elapsed = (loop.time() - start) * self.sim.clock.speed  # report simulated seconds
        if mlflow is not None:
            await mlflow.end(0)
        await self._finish(key, 0)


def hf_download(container: Obj) -> tuple[str, str] | None:
    """(model id, local dir) when the container runs a Hugging Face download (CLI or snapshot_download)."""
    argv = container_argv(container)
    words = " ".join(argv).split()
    cli = any(w in ("huggingface-cli", "hf") and nxt == "download" for w, nxt in itertools.pairwise(words))
    if not cli and "snapshot_download" not in " ".join(words):
        return None
    env = _env(container)
    model = env.get("HF_MODEL_ID") or env.get("MODEL_ID") or env.get("MODEL_NAME") or ""
    if cli:
        i = words.index("download")
        if i + 1 < len(words) and not words[i + 1].startswith("-"):
            model = model or words[i + 1].strip("'\"")
    local = next((words[i + 1] for i, w in enumerate(words[:-1]) if w == "--local-dir"), "")
    if not model:
        return None
    return model, local or f"/models/{model}"


def _echo(container: Obj) -> bool:
    return "echo " in " ".join(container_argv(container))
