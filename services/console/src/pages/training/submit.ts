// Turns the submit form's values into submit_training_job's params. Only shaping: the server validates
// every field (422 naming it) and pre-checks the GPUs.

export interface SubmitValues {
  name: string;
  namespace: string;
  type: "pytorchjob" | "hyperpod";
  image?: string;
  mode: "llamafactory" | "command";
  model?: string;
  dataset?: string;
  template?: string;
  stage?: string;
  finetuning_type?: string;
  batch_size?: number;
  gradient_accumulation_steps?: number;
  learning_rate?: number;
  epochs?: number;
  cutoff_len?: number;
  deepspeed?: string;
  output_dir?: string;
  max_steps?: number;
  logging_steps?: number;
  /** One argument per line: an argv list, never a shell string. */
  argv?: string;
  /** `NAME=value` per line. */
  env?: string;
  instance_type?: string;
  replicas?: number;
  procs_per_node?: number;
  hf_token?: string;
  mlflow_experiment?: string;
  mlflow_run_name?: string;
}

/** LLaMA-Factory's defaults, as the server's LlamaFactorySettings has them. */
export const DEFAULTS: Partial<SubmitValues> = {
  namespace: "default",
  type: "pytorchjob",
  mode: "llamafactory",
  template: "default",
  stage: "sft",
  finetuning_type: "lora",
  batch_size: 1,
  gradient_accumulation_steps: 8,
  learning_rate: 1e-4,
  epochs: 3,
  cutoff_len: 2048,
  deepspeed: "none",
  logging_steps: 10,
  replicas: 1,
  procs_per_node: 1,
};

const LF_FIELDS = [
  "model", "dataset", "template", "stage", "finetuning_type", "batch_size", "gradient_accumulation_steps",
  "learning_rate", "epochs", "cutoff_len", "deepspeed", "output_dir", "max_steps", "logging_steps",
] as const;

const present = (x: unknown) => x !== undefined && x !== null && x !== "";

export function lines(text: string | undefined): string[] {
  return (text ?? "").split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l.trim() !== "");
}

/** `NAME=value` lines → {NAME: value}; the first `=` splits, so values may contain `=`. */
export function parseEnv(text: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const l of lines(text)) {
    const i = l.indexOf("=");
    if (i <= 0) env[l.trim()] = "";
    else env[l.slice(0, i).trim()] = l.slice(i + 1);
  }
  return env;
}

export function toParams(v: SubmitValues): Record<string, unknown> {
  const p: Record<string, unknown> = { name: v.name, namespace: v.namespace, type: v.type };
  for (const k of ["image", "instance_type", "replicas", "procs_per_node", "hf_token", "mlflow_experiment", "mlflow_run_name"] as const) {
    if (present(v[k])) p[k] = v[k];
  }
  if (v.mode === "command") {
    // Arguments are kept exactly as typed (spaces included): each line is one argv element.
    p.command = lines(v.argv);
  } else {
    const lf: Record<string, unknown> = {};
    for (const k of LF_FIELDS) if (present(v[k])) lf[k] = v[k];
    p.llamafactory = lf;
  }
  const env = parseEnv(v.env);
  if (Object.keys(env).length) p.env = env;
  return p;
}
