// The messages of docs/realtime.md's WebSocket protocol, as the console uses them.

export type Topic =
  | "pods" | "deployments" | "services" | "endpoints" | "replicasets" | "nodes" | "jobs" | "events"
  | "pytorchjobs" | "hyperpodpytorchjobs" | "trainingjobs" | "operations";

/** What a page asks for: one topic of one cluster, optionally narrowed like a Kubernetes watch. */
export interface SubscriptionSpec {
  cluster: string;
  topic: Topic;
  namespace?: string;
  labelSelector?: string;
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
  return JSON.stringify([spec.cluster, spec.topic, spec.namespace ?? "", spec.labelSelector ?? ""]);
}
