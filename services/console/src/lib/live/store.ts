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

/** What changed between `base` (an earlier view's items) and this view's items: lets a consumer that
 * derived something from `base` (a sorted, filtered table) update it for these objects instead of
 * recomputing over every item. Objects are the new state (`upserted`) or the last one known (`removed`). */
export interface LiveDelta {
  base: LiveObject[];
  upserted: LiveObject[];
  removed: LiveObject[];
}

export interface LiveView {
  /** Every object, in no particular order (a new array whenever something changed, never mutated). */
  items: LiveObject[];
  phase: Phase;
  error: LiveError | null;
  lastId: string | null;
  /** True once a snapshot or resync arrived: an empty list means "nothing there", not "loading". */
  loaded: boolean;
  /** Null when the state was replaced (snapshot, resync) or nothing derived from an earlier view. */
  delta: LiveDelta | null;
}

interface SubState {
  topic: Topic;
  objects: Map<string, LiveObject>;
  /** The items of the last view handed out, and each key's position in it. */
  items: LiveObject[];
  index: Map<string, number>;
  /** Keys changed since the last view was built (value: the new object, or null when deleted), with
   * the object each deleted key had; null after a replace (the next view starts afresh). */
  pending: Map<string, LiveObject | null> | null;
  removed: Map<string, LiveObject>;
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
 * arrive in id order, so the objects Map's insertion order is oldest first. (The view's items are in no
 * particular order: readers that need line order sort by id.) */
export const LOG_BUFFER_LINES = 5_000;

export type Scheduler = (flush: () => void) => void;

/** Once per animation frame in a browser (so a burst of events costs one render per frame, and none in a
 * hidden tab, which catches up when shown); a 16 ms timer elsewhere. */
export const frameScheduler: Scheduler = (flush) => {
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(() => flush());
  else setTimeout(flush, 16);
};

const EMPTY: LiveView = { items: [], phase: "connecting", error: null, lastId: null, loaded: false, delta: null };

export class LiveStore {
  private subs = new Map<string, SubState>();
  private dirty = new Set<SubState>();
  private flushScheduled = false;

  /** Notifications are batched (one per animation frame by default): 100 changes/s cost at most one
   * render per frame, whatever the rate. */
  constructor(private readonly schedule: Scheduler = frameScheduler) {}

  ensure(sub: string, topic: Topic): void {
    if (!this.subs.has(sub)) {
      this.subs.set(sub, {
        topic, objects: new Map(), items: [], index: new Map(), pending: null, removed: new Map(),
        lastId: null, phase: "connecting", error: null, loaded: false, view: null, listeners: new Set(),
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
    s.pending = null;
    s.removed.clear();
    if (s.topic === "logs") this.trimOldest(s);
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
    if (event === "DELETED") {
      const before = s.objects.get(key);
      if (before === undefined) return this.advance(s, id);
      s.objects.delete(key);
      if (!s.removed.has(key)) s.removed.set(key, before);
      s.pending?.set(key, null);
    } else {
      s.objects.set(key, obj);
      s.pending?.set(key, obj);
    }
    if (s.topic === "logs") this.trimOldest(s);
    this.advance(s, id);
  }

  /** Drops the oldest lines over LOG_BUFFER_LINES, recorded as deletions so the next view's delta holds
   * them like any other removal. */
  private trimOldest(s: SubState): void {
    let extra = s.objects.size - LOG_BUFFER_LINES;
    if (extra <= 0) return;
    for (const [key, before] of s.objects) {
      if (extra-- <= 0) break;
      s.objects.delete(key);
      if (!s.removed.has(key)) s.removed.set(key, before);
      s.pending?.set(key, null);
    }
  }

  private advance(s: SubState, id: string): void {
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
      const delta = this.rebuild(s);
      s.view = { items: s.items, phase: s.phase, error: s.error, lastId: s.lastId, loaded: s.loaded, delta };
    }
    return s.view;
  }

  /** The next items array: the previous one copied once with only the changed keys touched (a delete
   * moves the last item into the hole), so a view costs O(items) copying plus O(changes) work — not a
   * walk over every object — and unchanged objects keep their identity. */
  private rebuild(s: SubState): LiveDelta | null {
    const pending = s.pending;
    s.pending = new Map();
    if (pending === null) {
      s.items = Array.from(s.objects.values());
      s.index = new Map(Array.from(s.objects.keys(), (k, i) => [k, i]));
      s.removed.clear();
      return null;
    }
    if (pending.size === 0) return null;
    const base = s.items;
    const items = base.slice();
    const upserted: LiveObject[] = [];
    for (const [key, obj] of pending) {
      const at = s.index.get(key);
      if (obj === null) {
        if (at === undefined) continue;
        const moved = items.pop()!;
        if (at < items.length) {
          items[at] = moved;
          s.index.set(objectKey(s.topic, moved), at);
        }
        s.index.delete(key);
      } else {
        if (at === undefined) {
          s.index.set(key, items.length);
          items.push(obj);
        } else items[at] = obj;
        upserted.push(obj);
      }
    }
    // A key deleted and then added again is an upsert; only keys gone now count as removed.
    const removed = Array.from(s.removed).filter(([k]) => !s.objects.has(k)).map(([, o]) => o);
    s.removed.clear();
    s.items = items;
    return { base, upserted, removed };
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
