"""LLaMA-Factory settings → its command-line arguments (`--key value` pairs, one argv element each) and the
launchers that start it on every node: torchrun for Kubeflow PyTorchJobs, hyperpodrun (HyperPod's
resilient wrapper around torchrun) for HyperPod jobs. Both read the rendezvous (node rank, master address
and port) from the environment the training operator injects, so nothing here needs a shell."""

from __future__ import annotations

from podium_shared.training.schemas import DeepSpeed, FinetuningType, JobType, LlamaFactorySettings

# Inside the LLaMA-Factory image (WORKDIR /app): the entry point torchrun starts once per GPU, and the
# DeepSpeed configs its repository ships.
LAUNCHER = "/app/src/llamafactory/launcher.py"
DEEPSPEED_CONFIGS = {
    DeepSpeed.z0: "/app/examples/deepspeed/ds_z0_config.json",
    DeepSpeed.z2: "/app/examples/deepspeed/ds_z2_config.json",
    DeepSpeed.z3: "/app/examples/deepspeed/ds_z3_config.json",
    DeepSpeed.z3_offload: "/app/examples/deepspeed/ds_z3_offload_config.json",
}


def _number(value: float) -> str:
    # repr keeps 1e-05 and 0.0001 exact; integers-as-floats stay "3.0", which HfArgumentParser accepts.
    return repr(float(value))


def train_args(
    s: LlamaFactorySettings, *, output_dir: str, run_name: str | None, report_to_mlflow: bool
) -> list[str]:
    args = [
        "--stage", s.stage.value,
        "--do_train", "true",
        "--model_name_or_path", s.model,
        "--dataset", s.dataset,
        "--template", s.template,
        "--finetuning_type", s.finetuning_type.value,
        "--output_dir", output_dir,
        "--per_device_train_batch_size", str(s.batch_size),
        "--gradient_accumulation_steps", str(s.gradient_accumulation_steps),
        "--learning_rate", _number(s.learning_rate),
        "--num_train_epochs", _number(s.epochs),
        "--cutoff_len", str(s.cutoff_len),
        "--logging_steps", str(s.logging_steps),
        "--lr_scheduler_type", "cosine",
        "--warmup_ratio", "0.1",
        "--bf16", "true",
        "--overwrite_output_dir", "true",
    ]  # fmt: skip
    if s.finetuning_type is FinetuningType.lora:
        args += ["--lora_target", "all"]
    if s.max_steps is not None:
        args += ["--max_steps", str(s.max_steps)]
    if s.deepspeed is not DeepSpeed.none:
        args += ["--deepspeed", DEEPSPEED_CONFIGS[s.deepspeed]]
    # transformers' MLflowCallback names the run after TrainingArguments.run_name.
    args += ["--report_to", "mlflow" if report_to_mlflow else "none"]
    if run_name:
        args += ["--run_name", run_name]
    return args


def launcher(job_type: JobType, *, nodes: int, procs_per_node: int) -> list[str]:
    if job_type is JobType.hyperpod:
        return ["hyperpodrun", f"--nnodes={nodes}", f"--nproc-per-node={procs_per_node}", LAUNCHER]
    return ["torchrun", f"--nnodes={nodes}", f"--nproc_per_node={procs_per_node}", LAUNCHER]
