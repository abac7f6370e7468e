"""Training log lines in the style of Hugging Face Trainer / LLaMA-Factory, with a plausibly falling loss.

Pure and deterministic for a given seed, so tests and the training-metrics parser can rely on the shapes:
`{'loss': 2.61, 'grad_norm': 1.23, 'learning_rate': 5e-05, 'epoch': 0.5}`, tqdm progress bars and a final
`{'train_runtime': ..., 'train_samples_per_second': ..., 'train_steps_per_second': ..., 'train_loss': ...}`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

_BLOCKS = " ▏▎▍▌▋▊▉"


def progress_bar(done: int, total: int, elapsed: float) -> str:
    """A tqdm line: `  5%|▌         | 10/200 [00:05<01:40,  1.90it/s]`."""
    frac = done / total if total else 1.0
    width = 10
    full = int(frac * width)
    rest = int((frac * width - full) * 8)
    bar = "█" * full + (_BLOCKS[rest] if full < width and rest else "")
    bar = bar.ljust(width)
    rate = done / elapsed if elapsed > 0 else 0.0
    remaining = (total - done) / rate if rate > 0 else 0.0
    return (
        f"{int(frac * 100):3d}%|{bar}| {done}/{total} [{_mmss(elapsed)}<{_mmss(remaining)}, {rate:5.2f}it/s]"
    )


def _mmss(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60:02d}:{s % 60:02d}" if s < 3600 else f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _stamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%d %H:%M:%S,") + f"{now.microsecond // 1000:03d}"


@dataclass
class TrainingRun:
    steps: int = 20
    epochs: float = 3.0
    learning_rate: float = 5e-05
    batch_size: int = 2
    world_size: int = 1
    seed: str = "kubesim"
    model: str = "Qwen/Qwen2.5-0.5B-Instruct"
    logging_steps: int = 0  # 0: about ten loss lines per run
    elapsed: float = 0.0  # simulated seconds since the first step started (kept by the runner)
    rng: random.Random = field(init=False)
    losses: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.steps = max(1, self.steps)
        self.rng = random.Random(self.seed)  # noqa: S311 - simulated metrics, not security
        if self.logging_steps <= 0:
            self.logging_steps = max(1, self.steps // 10)
        self._start = self.rng.uniform(2.3, 2.9)
        self._floor = self.rng.uniform(0.9, 1.4)

    def prelude(self) -> list[str]:
        examples = self.steps * self.batch_size * self.world_size // max(1, int(self.epochs) or 1)
        ts = _stamp()
        return [
            f"[INFO|configuration_utils.py:733] {ts} >> loading configuration file config.json "
            f"from {self.model}",
            f"[INFO|modeling_utils.py:3934] {ts} >> loading weights file model.safetensors from {self.model}",
            f"[INFO|trainer.py:2243] {ts} >> ***** Running training *****",
            f"[INFO|trainer.py:2244] {ts} >>   Num examples = {examples:,}",
            f"[INFO|trainer.py:2245] {ts} >>   Num Epochs = {int(self.epochs)}",
            f"[INFO|trainer.py:2246] {ts} >>   Instantaneous batch size per device = {self.batch_size}",
            f"[INFO|trainer.py:2249] {ts} >>   Total train batch size "
            "(w. parallel, distributed & accumulation) = "
            f"{self.batch_size * self.world_size}",
            f"[INFO|trainer.py:2250] {ts} >>   Gradient Accumulation steps = 1",
            f"[INFO|trainer.py:2251] {ts} >>   Total optimization steps = {self.steps:,}",
            progress_bar(0, self.steps, 0.0),
        ]

    def loss_at(self, step: int) -> float:
        t = step / self.steps
        noise = self.rng.uniform(-0.04, 0.04)
        return round(self._floor + (self._start - self._floor) * math.exp(-3.0 * t) + noise, 4)

    def step_lines(self, step: int, elapsed: float) -> list[str]:
        """Lines printed when optimisation step `step` (1-based) finishes."""
        lines = []
        if step % self.logging_steps == 0 or step == self.steps:
            loss = self.loss_at(step)
            self.losses.append(loss)
            lr = self.learning_rate * 0.5 * (1 + math.cos(math.pi * step / self.steps))
            record = {
                "loss": loss,
                "grad_norm": round(self.rng.uniform(0.6, 1.6) * (1.2 - 0.5 * step / self.steps), 4),
                "learning_rate": float(f"{lr:.4g}") if lr else 0.0,
                "epoch": round(self.epochs * step / self.steps, 2),
            }
            lines.append(str(record))
        lines.append(progress_bar(step, self.steps, elapsed))
        return lines

    def summary(self, elapsed: float) -> list[str]:
        runtime = max(elapsed, 0.001)
        samples = self.steps * self.batch_size * self.world_size
        train_loss = round(sum(self.losses) / len(self.losses), 4) if self.losses else round(self._start, 4)
        record = {
            "train_runtime": round(runtime, 4),
            "train_samples_per_second": round(samples / runtime, 3),
            "train_steps_per_second": round(self.steps / runtime, 3),
            "train_loss": train_loss,
            "epoch": float(self.epochs),
        }
        ts = _stamp()
        return [
            progress_bar(self.steps, self.steps, elapsed),
            f"[INFO|trainer.py:2505] {ts} >> ",
            "",
            "Training completed. Do not forget to share your model on huggingface.co/models =)",
            "",
            str(record),
            f"[INFO|trainer.py:3705] {ts} >> Saving model checkpoint to /opt/ml/model",
            "***** train metrics *****",
            f"  epoch                    = {self.epochs:.1f}",
            f"  train_loss               = {train_loss:.4f}",
            f"  train_runtime            = {_mmss(runtime)}.{int(runtime * 100) % 100:02d}",
            f"  train_samples_per_second = {samples / runtime:.3f}",
            f"  train_steps_per_second   = {self.steps / runtime:.3f}",
        ]


# --- what a training pod was asked to run ---------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A simulated failure: after `at_step` steps (0: before the first), the rank-0 process raises."""

    reason: str
    at_step: int


def _flag(argv: list[str], name: str) -> str | None:
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def _num(value: str | None, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


def run_from(
    argv: list[str], env: Mapping[str, str], *, default_steps: int, seed: str, world_size: int
) -> TrainingRun:
    """The run a LLaMA-Factory / HF Trainer command line asks for: `--max_steps`, `--num_train_epochs`,
    `--per_device_train_batch_size`, `--learning_rate`, `--logging_steps`, `--model_name_or_path`; the
    environment (KUBESIM_TRAIN_STEPS, EPOCHS, BATCH_SIZE, …) for custom commands. Without `--max_steps`,
    the scenario's step count (a simulated dataset) is run once per epoch."""
    epochs = _num(_flag(argv, "--num_train_epochs") or env.get("NUM_EPOCHS") or env.get("EPOCHS"), 3.0)
    max_steps = _flag(argv, "--max_steps") or env.get("KUBESIM_TRAIN_STEPS")
    steps = int(_num(max_steps, 0)) if max_steps else 0
    if steps <= 0:
        steps = max(1, math.ceil(default_steps * max(epochs, 0.01) / 3.0))
    return TrainingRun(
        steps=steps,
        epochs=epochs,
        learning_rate=_num(_flag(argv, "--learning_rate") or env.get("LEARNING_RATE"), 5e-05),
        batch_size=int(
            _num(
                _flag(argv, "--per_device_train_batch_size")
                or env.get("BATCH_SIZE")
                or env.get("PER_DEVICE_TRAIN_BATCH_SIZE"),
                2,
            )
        ),
        world_size=max(1, world_size),
        seed=seed,
        model=_flag(argv, "--model_name_or_path")
        or env.get("MODEL_NAME")
        or env.get("MODEL")
        or "Qwen/Qwen2.5-0.5B-Instruct",
        logging_steps=int(_num(_flag(argv, "--logging_steps"), 0)),
    )


def failure_from(env: Mapping[str, str], annotation: str | None, steps: int) -> Failure | None:
    """KUBESIM_FAIL_REASON (env) or the `kubesim.podium.dev/fail-reason` annotation make the run fail with
    that reason; KUBESIM_FAIL_AT_STEP says when (default: half way)."""
    reason = env.get("KUBESIM_FAIL_REASON") or annotation
    if not reason:
        return None
    at = int(_num(env.get("KUBESIM_FAIL_AT_STEP"), steps // 2))
    return Failure(reason=reason, at_step=max(0, min(at, steps)))


def failure_lines(failure: Failure, rank: int) -> list[str]:
    """What torchrun's elastic agent prints when a worker process dies."""
    return [
        "Traceback (most recent call last):",
        '  File "/app/src/llamafactory/launcher.py", line 23, in <module>',
        "    launch()",
        f"RuntimeError: {failure.reason}",
        f"[rank{rank}]: {failure.reason}",
        "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: ",
        "============================================================",
        "/app/src/llamafactory/launcher.py FAILED",
        f"  rank      : {rank}",
        "  exitcode  : 1",
        f"  error     : {failure.reason}",
    ]


def run_lines(run: TrainingRun, *, rank: int, world: int) -> Iterator[tuple[int, list[str]]]:
    """The whole run's log as (step, lines printed when that step ends); step 0 is the start-up. The one
    place a training pod's output is produced: hooks (MLflow logging, …) can wrap this generator. Only
    rank 0 prints the Trainer's metrics, as in real multi-node runs. The caller measures time between
    steps and passes the elapsed simulated seconds back through `run.elapsed`."""
    start = [f"[INFO] torch.distributed initialised: rank={rank} world_size={world} backend=nccl"]
    if rank == 0:
        start += run.prelude()
    yield 0, start
    for step in range(1, run.steps + 1):
        yield step, run.step_lines(step, run.elapsed) if rank == 0 else []
    yield run.steps + 1, run.summary(run.elapsed) if rank == 0 else []


def replace_steps(run: TrainingRun, steps: int) -> TrainingRun:
    return TrainingRun(
        steps=steps, epochs=run.epochs, learning_rate=run.learning_rate, batch_size=run.batch_size,
        world_size=run.world_size, seed=run.seed, model=run.model, logging_steps=run.logging_steps,
    )  # fmt: skip
