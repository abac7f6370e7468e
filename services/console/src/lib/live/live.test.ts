// The live layer against a fake socket (the browser's WebSocket is this unit's boundary): snapshot,
// events in order, resync replaces state, resume with `since` after a drop, backoff, 4401.
import { beforeEach, describe, expect, it } from "vitest";
import { LiveConnection } from "./connection";
import type { SocketLike, Timers } from "./connection";
import { compareIds } from "./ids";
import type { SubscriptionSpec } from "./protocol";
import { LiveStore } from "./store";

class FakeSocket implements SocketLike {
  sent: Record<string, unknown>[] = [];
  closed = false;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close() {
    this.closed = true;
  }
  // What the server does:
  accept() {
    this.onopen?.();
  }
  deliver(msg: object) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  drop(code = 1006) {
    this.onclose?.({ code, reason: "" });
  }
}

class FakeTimers implements Timers {
  time = 0;
  private queue: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  setTimeout(fn: () => void, ms: number) {
    const id = ++this.seq;
    this.queue.push({ at: this.time + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown) {
    this.queue = this.queue.filter((t) => t.id !== h);
  }
  now() {
    return this.time;
  }
  advance(ms: number) {
    const until = this.time + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at);
      const next = this.queue[0];
      if (!next || next.at > until) break;
      this.queue.shift();
      this.time = next.at;
      next.fn();
    }
    this.time = until;
  }
}

const pod = (name: string, phase = "Running") => ({
  kind: "Pod",
  metadata: { namespace: "team-a", name },
  status: { phase },
});
const PODS: SubscriptionSpec = { cluster: "local", topic: "pods", namespace: "team-a" };

let sockets: FakeSocket[];
let timers: FakeTimers;
let store: LiveStore;
let conn: LiveConnection;
let unauthenticated: number;

function names(sub: string): string[] {
  return store.view(sub).items.map((o) => (o.metadata as { name: string }).name).sort();
}
const last = () => sockets[sockets.length - 1]!;

beforeEach(() => {
  sockets = [];
  timers = new FakeTimers();
  store = new LiveStore((flush) => flush()); // synchronous notifications in tests
  unauthenticated = 0;
  conn = new LiveConnection({
    url: "ws://test/api/v1/ws",
    store,
    timers,
    random: () => 1,
    backoffBaseMs: 500,
    backoffMaxMs: 8000,
    socketFactory: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    onUnauthenticated: () => (unauthenticated += 1),
  });
});

describe("ids", () => {
  it("compares numerically, not as strings", () => {
    expect(compareIds("999-0", "1000-0")).toBe(-1);
    expect(compareIds("5-10", "5-9")).toBe(1);
    expect(compareIds("7-1", "7-1")).toBe(0);
  });
});

describe("live connection and store", () => {
  it("subscribes once per spec and applies the snapshot", () => {
    const a = conn.acquire(PODS);
    const b = conn.acquire({ ...PODS });
    expect(a).toBe(b);
    expect(sockets).toHaveLength(1);
    last().accept();
    expect(last().sent).toEqual([{ type: "subscribe", id: a, cluster: "local", topic: "pods", namespace: "team-a" }]);
    expect(store.view(a).loaded).toBe(false);
    last().deliver({ type: "snapshot", subscription: a, id: "100-0", objects: [pod("p1"), pod("p2")] });
    expect(names(a)).toEqual(["p1", "p2"]);
    expect(store.view(a)).toMatchObject({ loaded: true, phase: "live", lastId: "100-0" });
  });

  it("applies events in order and ignores ids already applied", () => {
    const s = conn.acquire(PODS);
    last().accept();
    last().deliver({ type: "snapshot", subscription: s, id: "100-0", objects: [pod("p1")] });
    last().deliver({ type: "event", subscription: s, id: "101-0", event: "ADDED", object: pod("p2", "Pending") });
    last().deliver({ type: "event", subscription: s, id: "101-1", event: "MODIFIED", object: pod("p2", "Running") });
    last().deliver({ type: "event", subscription: s, id: "102-0", event: "DELETED", object: pod("p1") });
    // A duplicate of an older change must not bring back a stale state.
    last().deliver({ type: "event", subscription: s, id: "101-0", event: "ADDED", object: pod("p2", "Pending") });
    expect(names(s)).toEqual(["p2"]);
    const p2 = store.view(s).items[0] as { status: { phase: string } };
    expect(p2.status.phase).toBe("Running");
    expect(store.lastId(s)).toBe("102-0");
  });

  it("replaces the whole state on resync", () => {
    const s = conn.acquire(PODS);
    last().accept();
    last().deliver({ type: "snapshot", subscription: s, id: "100-0", objects: [pod("p1"), pod("p2")] });
    last().deliver({ type: "resync", subscription: s, id: "500-0", objects: [pod("p3")] });
    expect(names(s)).toEqual(["p3"]);
    expect(store.lastId(s)).toBe("500-0");
  });

  it("reconnects with backoff and resumes every subscription with since", () => {
    const s = conn.acquire(PODS);
    const n = conn.acquire({ cluster: "local", topic: "nodes" });
    last().accept();
    last().deliver({ type: "snapshot", subscription: s, id: "100-0", objects: [pod("p1")] });
    last().deliver({ type: "event", subscription: s, id: "105-3", event: "ADDED", object: pod("p2") });
    last().deliver({ type: "snapshot", subscription: n, id: "104-0", objects: [] });
    last().drop();
    expect(store.view(s).phase).toBe("reconnecting");
    expect(names(s)).toEqual(["p1", "p2"]); // kept while reconnecting
    timers.advance(499);
    expect(sockets).toHaveLength(1);
    timers.advance(1);
    expect(sockets).toHaveLength(2);
    // The server is still down: the next wait doubles.
    last().drop();
    timers.advance(999);
    expect(sockets).toHaveLength(2);
    timers.advance(1);
    expect(sockets).toHaveLength(3);
    last().accept();
    expect(last().sent).toEqual([
      { type: "subscribe", id: s, cluster: "local", topic: "pods", namespace: "team-a", since: "105-3" },
      { type: "subscribe", id: n, cluster: "local", topic: "nodes", since: "104-0" },
    ]);
    // The replay continues exactly after since; the subscription is live again.
    last().deliver({ type: "subscribed", id: s, cluster: "local", topic: "pods" });
    last().deliver({ type: "event", subscription: s, id: "106-0", event: "DELETED", object: pod("p1") });
    expect(names(s)).toEqual(["p2"]);
    expect(store.view(s).phase).toBe("live");
    // A good connection resets the backoff.
    last().drop();
    timers.advance(500);
    expect(sockets).toHaveLength(4);
  });

  it("stops reconnecting and reports when the session is refused (4401)", () => {
    const s = conn.acquire(PODS);
    last().accept();
    last().drop(4401);
    expect(unauthenticated).toBe(1);
    expect(store.view(s).error?.code).toBe("unauthenticated");
    timers.advance(60_000);
    expect(sockets).toHaveLength(1);
    conn.restart();
    expect(sockets).toHaveLength(2);
  });

  it("shows a subscription's error and unsubscribes after the last holder leaves", () => {
    const s = conn.acquire(PODS);
    last().accept();
    last().deliver({ type: "error", subscription: s, code: "forbidden", message: "not your namespace" });
    expect(store.view(s).error).toEqual({ code: "forbidden", message: "not your namespace" });
    conn.release(PODS);
    timers.advance(20_000);
    expect(last().sent).toContainEqual({ type: "unsubscribe", id: s });
  });

  it("notifies listeners once per batch", () => {
    const pending: (() => void)[] = [];
    store = new LiveStore((f) => pending.push(f));
    conn = new LiveConnection({ url: "x", store, timers, socketFactory: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    } });
    const s = conn.acquire(PODS);
    let calls = 0;
    store.listen(s, () => (calls += 1));
    last().accept();
    last().deliver({ type: "snapshot", subscription: s, id: "1-0", objects: [] });
    for (let i = 2; i < 50; i++) {
      last().deliver({ type: "event", subscription: s, id: `${i}-0`, event: "ADDED", object: pod(`p${i}`) });
    }
    expect(pending).toHaveLength(1);
    pending[0]!();
    expect(calls).toBe(1);
    expect(store.view(s).items).toHaveLength(48);
  });
});

describe("views and their deltas", () => {
  it("hands out a new items array per change, with what changed since the last view", () => {
    const s = conn.acquire(PODS);
    last().accept();
    last().deliver({ type: "snapshot", subscription: s, id: "1-0", objects: [pod("p1"), pod("p2"), pod("p3")] });
    const first = store.view(s);
    expect(first.delta).toBeNull(); // a snapshot replaces: nothing to derive from
    const p1 = first.items.find((o) => (o.metadata as { name: string }).name === "p1");
    last().deliver({ type: "event", subscription: s, id: "2-0", event: "MODIFIED", object: pod("p2", "Failed") });
    last().deliver({ type: "event", subscription: s, id: "3-0", event: "ADDED", object: pod("p4") });
    last().deliver({ type: "event", subscription: s, id: "4-0", event: "DELETED", object: pod("p3") });
    const second = store.view(s);
    expect(second.items).not.toBe(first.items);
    expect(first.items).toHaveLength(3); // an old view is never mutated
    expect(names(s)).toEqual(["p1", "p2", "p4"]);
    // Unchanged objects keep their identity (structural sharing), so rows that did not change stay put.
    expect(second.items).toContain(p1);
    expect(second.delta?.base).toBe(first.items);
    expect(second.delta?.upserted.map((o) => (o.metadata as { name: string }).name).sort()).toEqual(["p2", "p4"]);
    expect(second.delta?.removed.map((o) => (o.metadata as { name: string }).name)).toEqual(["p3"]);
    // Reading again without a change returns the same view.
    expect(store.view(s)).toBe(second);
  });

  it("chains deltas only between views actually handed out, and a resync starts afresh", () => {
    const s = conn.acquire(PODS);
    last().accept();
    last().deliver({ type: "snapshot", subscription: s, id: "1-0", objects: [pod("p1")] });
    const first = store.view(s);
    last().deliver({ type: "event", subscription: s, id: "2-0", event: "ADDED", object: pod("p2") });
    last().deliver({ type: "event", subscription: s, id: "3-0", event: "DELETED", object: pod("p2") });
    last().deliver({ type: "event", subscription: s, id: "4-0", event: "DELETED", object: pod("p1") });
    last().deliver({ type: "event", subscription: s, id: "5-0", event: "ADDED", object: pod("p1", "Pending") });
    const second = store.view(s);
    expect(second.delta?.base).toBe(first.items);
    // p1 went and came back: it is an upsert, not a removal; p2 came and went between the two views.
    expect(second.delta?.upserted.map((o) => (o.status as { phase: string }).phase)).toEqual(["Pending"]);
    expect(second.delta?.removed.map((o) => (o.metadata as { name: string }).name)).toEqual(["p2"]);
    expect(names(s)).toEqual(["p1"]);
    last().deliver({ type: "resync", subscription: s, id: "9-0", objects: [pod("p9")] });
    expect(store.view(s).delta).toBeNull();
    expect(names(s)).toEqual(["p9"]);
  });

  it("keeps every key in the right place through many deletes", () => {
    const s = conn.acquire(PODS);
    last().accept();
    const all = Array.from({ length: 50 }, (_, i) => pod(`p${i}`));
    last().deliver({ type: "snapshot", subscription: s, id: "1-0", objects: all });
    store.view(s);
    let id = 2;
    for (let i = 0; i < 50; i += 3) {
      last().deliver({ type: "event", subscription: s, id: `${id++}-0`, event: "DELETED", object: pod(`p${i}`) });
      if (i % 2 === 0) store.view(s);
      last().deliver({ type: "event", subscription: s, id: `${id++}-0`, event: "MODIFIED", object: pod(`p${i + 1}`, "Failed") });
    }
    const want = all.map((_, i) => i).filter((i) => i % 3 !== 0).map((i) => `p${i}`).sort();
    expect(names(s)).toEqual(want);
    const failed = store.view(s).items.filter((o) => (o.status as { phase: string }).phase === "Failed");
    expect(failed).toHaveLength(17);
  });
});
