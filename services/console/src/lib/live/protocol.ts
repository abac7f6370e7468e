// The messages of docs/realtime.md's WebSocket protocol, as the console uses them.

export type Topic =
  | "pods" | "deployments" | "services" | "endpoints" | "replicasets" | "nodes" | "jobs" | "events"
  | "pytorchjobs" | "hyperpodpytorchjobs" | "trainingjobs" | "operations"
  // Kept log lines (docs/telemetry.md) and MLflow runs (docs/history.md): keyed by their own ids.
  | "logs" | "training_runs";

/** What a page asks for: one topic of one cluster, optionally narrowed like a Kubernetes watch. */
export interface SubscriptionSpec {
  cluster: string;
  topic: Topic;
  namespace?: string;
  labelSelector?: string;
  /** `logs` only: narrow to one job / pod / container; `tail` = lines in the first snapshot. */
  job?: string;
  pod?: string;
  container?: string;
  tail?: number;
}

export type LiveObject = Record<string, unknown>;

export interface SubscribeMessage extends SubscriptionSpec {
  type: "subscribe";
  id: string;
  since?: string;
}

export type ServerMessage =
  | { type: "subscribed"; id: string; cluster: string; topic: string }
  | { type: "snapshot" | "resync"; subscription: string; id: string; objects: LiveObject[] }
  | {
      type: "event";
      subscription: string;
      id: string;
      event: "ADDED" | "MODIFIED" | "DELETED";
      object: LiveObject;
    }
  | { type: "ping" | "pong"; ts?: number }
  | { type: "error"; code: string; message?: string; subscription?: string };

/** Close code the server uses for a refused login (the session ended or was revoked). */
export const CLOSE_UNAUTHENTICATED = 4401;

/** A stable key for a spec: two pages asking for the same thing share one subscription. */
export function specKey(spec: SubscriptionSpec): string {
  const base = [spec.cluster, spec.topic, spec.namespace ?? "", spec.labelSelector ?? ""];
  if (spec.topic !== "logs") return JSON.stringify(base);
  return JSON.stringify([...base, spec.job ?? "", spec.pod ?? "", spec.container ?? "", spec.tail ?? null]);
}
