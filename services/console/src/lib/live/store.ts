// The client-side state of every live subscription: objects by key, the last stream id applied (the
// `since` of the next reconnect) and the subscription's phase. Pages read it through hooks.ts; only
// connection.ts writes to it.
import { compareIds } from "./ids";
import type { LiveObject, Topic } from "./protocol";

export type Phase = "connecting" | "live" | "reconnecting" | "error";

export interface LiveError {
  code: string;
  message: string;
}

export interface LiveView {
  items: LiveObject[];
  phase: Phase;
  error: LiveError | null;
  lastId: string | null;
  /** True once a snapshot or resync arrived: an empty list means "nothing there", not "loading". */
  loaded: boolean;
}

interface SubState {
  topic: Topic;
  objects: Map<string, LiveObject>;
  lastId: string | null;
  phase: Phase;
  error: LiveError | null;
  loaded: boolean;
  view: LiveView | null;
  listeners: Set<() => void>;
}

/** Operations, log lines and MLflow runs are keyed by id; Kubernetes objects by namespace/name. */
export function objectKey(topic: Topic, obj: LiveObject): string {
  if (topic === "operations" || topic === "logs" || topic === "training_runs") return String(obj.id);
  const meta = (obj.metadata ?? {}) as { namespace?: string; name?: string };
  return `${meta.namespace ?? ""}/${meta.name ?? ""}`;
}

/** A followed log keeps only its newest lines in the tab (the whole log is a download away); lines
 * arrive in id order, so the Map's insertion order is oldest first. */
export const LOG_BUFFER_LINES = 5_000;

function trimOldest(objects: Map<string, LiveObject>, cap: number): void {
  if (objects.size <= cap) return;
  let extra = objects.size - cap;
  for (const key of objects.keys()) {
    if (extra-- <= 0) break;
    objects.delete(key);
  }
}

export type Scheduler = (flush: () => void) => void;

const EMPTY: LiveView = { items: [], phase: "connecting", error: null, lastId: null, loaded: false };

export class LiveStore {
  private subs = new Map<string, SubState>();
  private dirty = new Set<SubState>();
  private flushScheduled = false;

  /** Notifications are batched (one per frame by default) so 100 changes/s cost ~16 renders/s. */
  constructor(private readonly schedule: Scheduler = (f) => setTimeout(f, 16)) {}

  ensure(sub: string, topic: Topic): void {
    if (!this.subs.has(sub)) {
      this.subs.set(sub, {
        topic, objects: new Map(), lastId: null, phase: "connecting", error: null, loaded: false,
        view: null, listeners: new Set(),
      });
    }
  }

  drop(sub: string): void {
    this.subs.delete(sub);
  }

  lastId(sub: string): string | null {
    return this.subs.get(sub)?.lastId ?? null;
  }

  /** snapshot and resync both replace the state: a resync means events were lost. */
  replace(sub: string, id: string, objects: LiveObject[]): void {
    const s = this.subs.get(sub);
    if (!s) return;
    s.objects = new Map(objects.map((o) => [objectKey(s.topic, o), o]));
    if (s.topic === "logs") trimOldest(s.objects, LOG_BUFFER_LINES);
    s.lastId = id;
    s.loaded = true;
    s.phase = "live";
    s.error = null;
    this.touch(s);
  }

  /** Applies one change; an id not newer than the last applied is a duplicate and is ignored. */
  event(sub: string, id: string, event: string, obj: LiveObject): void {
    const s = this.subs.get(sub);
    if (!s) return;
    if (s.lastId !== null && compareIds(id, s.lastId) <= 0) return;
    const key = objectKey(s.topic, obj);
    if (event === "DELETED") s.objects.delete(key);
    else s.objects.set(key, obj);
    if (s.topic === "logs") trimOldest(s.objects, LOG_BUFFER_LINES);
    s.lastId = id;
    s.phase = "live";
    // An operations subscription has no snapshot of past operations: its first event makes it loaded.
    s.loaded = true;
    this.touch(s);
  }

  setPhase(sub: string, phase: Phase, error: LiveError | null = null): void {
    const s = this.subs.get(sub);
    if (!s || (s.phase === phase && s.error === error)) return;
    s.phase = phase;
    s.error = error;
    this.touch(s);
  }

  view(sub: string): LiveView {
    const s = this.subs.get(sub);
    if (!s) return EMPTY;
    if (s.view === null) {
      s.view = {
        items: Array.from(s.objects.values()), phase: s.phase, error: s.error, lastId: s.lastId,
        loaded: s.loaded,
      };
    }
    return s.view;
  }

  listen(sub: string, listener: () => void): () => void {
    const s = this.subs.get(sub);
    if (!s) return () => undefined;
    s.listeners.add(listener);
    return () => s.listeners.delete(listener);
  }

  private touch(s: SubState): void {
    s.view = null;
    this.dirty.add(s);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.schedule(() => {
      this.flushScheduled = false;
      const batch = Array.from(this.dirty);
      this.dirty.clear();
      for (const d of batch) for (const l of Array.from(d.listeners)) l();
    });
  }
}
