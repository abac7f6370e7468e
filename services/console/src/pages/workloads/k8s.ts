// Read-only accessors for the raw Kubernetes objects the live topics carry (for display only).
import type { LiveObject } from "../../lib/live";

export interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

export type K8s = LiveObject & { metadata: Meta; spec?: Record<string, any>; status?: Record<string, any> };

export const meta = (o: LiveObject): Meta => (o.metadata ?? { name: "" }) as Meta;
export const keyOf = (o: LiveObject): string => `${meta(o).namespace ?? ""}/${meta(o).name}`;

export function age(ts: string | undefined): string {
  if (!ts) return "";
  const s = Math.max(0, (Date.now() - Date.parse(ts)) / 1000);
  if (s < 120) return `${Math.round(s)}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

export function podReady(o: K8s): boolean {
  const conds = (o.status?.conditions ?? []) as { type: string; status: string }[];
  return conds.some((c) => c.type === "Ready" && c.status === "True");
}

export function podPhase(o: K8s): string {
  if (meta(o).deletionTimestamp) return "Terminating";
  return String(o.status?.phase ?? "Unknown");
}

export function restarts(o: K8s): number {
  const cs = (o.status?.containerStatuses ?? []) as { restartCount?: number }[];
  return cs.reduce((n, c) => n + (c.restartCount ?? 0), 0);
}

export function externalAddress(o: K8s): string {
  const ing = (o.status?.loadBalancer?.ingress ?? []) as { hostname?: string; ip?: string }[];
  return ing.map((i) => i.hostname ?? i.ip ?? "").filter(Boolean).join(", ");
}

export function lastCondition(o: K8s): string {
  const conds = (o.status?.conditions ?? []) as { type: string; status: string }[];
  const on = conds.filter((c) => c.status === "True");
  return on.at(-1)?.type ?? String(o.status?.state ?? "");
}
