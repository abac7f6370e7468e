import { describe, expect, it } from "vitest";
import { DEFAULTS, parseEnv, toParams } from "./submit";
import type { SubmitValues } from "./submit";

const base = { ...DEFAULTS, name: "sft", model: "Qwen/Qwen2.5-0.5B-Instruct", dataset: "alpaca_en_demo" } as SubmitValues;

describe("submit_training_job params from the form", () => {
  it("sends LLaMA-Factory settings and leaves empty optional fields to the server", () => {
    const p = toParams({ ...base, output_dir: "", hf_token: "", mlflow_experiment: "exp" });
    expect(p).toEqual({
      name: "sft", namespace: "default", type: "pytorchjob", replicas: 1, procs_per_node: 1, mlflow_experiment: "exp",
      llamafactory: {
        model: "Qwen/Qwen2.5-0.5B-Instruct", dataset: "alpaca_en_demo", template: "default", stage: "sft",
        finetuning_type: "lora", batch_size: 1, gradient_accumulation_steps: 8, learning_rate: 1e-4, epochs: 3,
        cutoff_len: 2048, deepspeed: "none", logging_steps: 10,
      },
    });
  });

  it("sends a custom command as an argv list, one line per argument, never split on spaces", () => {
    const p = toParams({ ...base, mode: "command", argv: "python\n-c\nprint('a b; $(x)')\n\n" });
    expect(p.command).toEqual(["python", "-c", "print('a b; $(x)')"]);
    expect(p.llamafactory).toBeUndefined();
  });

  it("reads NAME=value environment lines", () => {
    expect(parseEnv("A=1\nB=x=y\n\nC=")).toEqual({ A: "1", B: "x=y", C: "" });
  });
});
