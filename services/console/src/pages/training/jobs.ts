// Read-only accessors for the training jobs the `trainingjobs` topic carries (PyTorchJob and
// HyperPodPyTorchJob objects), for display only; the job page reads the server's summary instead.
import { meta } from "../workloads/k8s";
import type { K8s } from "../workloads/k8s";

export interface SubmittedSettings {
  type?: string;
  instance_type?: string | null;
  replicas?: number;
  procs_per_node?: number;
  llamafactory?: { model?: string; dataset?: string } | null;
  command?: string[] | null;
}

/** What was submitted (annotation `podium.dev/training-settings`, never the token); {} for foreign jobs. */
export function settingsOf(o: K8s): SubmittedSettings {
  const raw = meta(o).annotations?.["podium.dev/training-settings"];
  if (!raw) return {};
  try {
    return JSON.parse(raw) as SubmittedSettings;
  } catch {
    return {};
  }
}

export function jobType(o: K8s): string {
  return o.kind === "HyperPodPyTorchJob" ? "hyperpod" : o.kind === "PyTorchJob" ? "pytorchjob" : String(o.kind ?? "");
}

/** The newest true condition (Created → Running → Succeeded | Failed), as the operators report it. */
export function jobStatus(o: K8s): string {
  const conds = (o.status?.conditions ?? []) as { type: string; status: string; lastTransitionTime?: string }[];
  const on = conds.filter((c) => c.status === "True");
  if (on.some((c) => c.type === "Failed")) return "Failed";
  if (on.some((c) => c.type === "Succeeded")) return "Succeeded";
  return on.at(-1)?.type ?? (meta(o).deletionTimestamp ? "Terminating" : "Pending");
}

export function modelOf(o: K8s): string {
  const s = settingsOf(o);
  return s.llamafactory?.model ?? meta(o).annotations?.["podium.dev/model-id"] ?? (s.command ? "(custom command)" : "");
}

export function replicasOf(o: K8s): number {
  const s = settingsOf(o);
  if (s.replicas) return s.replicas;
  const specs = (o.spec?.pytorchReplicaSpecs ?? o.spec?.replicaSpecs ?? {}) as Record<string, { replicas?: number }> | { replicas?: number }[];
  return Object.values(specs).reduce((n, r) => n + Number(r?.replicas ?? 0), 0);
}

/** Seconds from start to completion (or to now while running); null before it starts. */
export function durationSeconds(start: string | null | undefined, end: string | null | undefined, now = Date.now()): number | null {
  if (!start) return null;
  const from = Date.parse(start);
  const to = end ? Date.parse(end) : now;
  return Number.isNaN(from) || Number.isNaN(to) ? null : Math.max(0, (to - from) / 1000);
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}
